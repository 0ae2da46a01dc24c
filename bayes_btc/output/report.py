"""The report (report.md, a self-contained report.html and report.pdf) built from a saved
results folder. The document is a list of blocks rendered to each format, so all say the
same thing: the answer first (one paragraph per endpoint and the summary figure), then the
evidence figure by figure, then an appendix of collapsible sections with every table. The HTML
embeds its figures as base64 PNG and uses no external script, font or style sheet."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from bayes_btc.inputs.datakey import RECONSTRUCTED_SUFFIX, is_reconstructed
from bayes_btc.output.blocks import Block
from bayes_btc.output.numbers import fmt
from bayes_btc.output.report_answer import answer_blocks
from bayes_btc.output.report_blocks import appendix_blocks
from bayes_btc.output.report_evidence import evidence_blocks
from bayes_btc.output.report_oc import oc_appendix, oc_blocks
from bayes_btc.output.report_pdf import APPENDIX_PAGES_CSS, PRINT_CSS, PdfParts
from bayes_btc.output.saved import SavedResults, load_results

APPENDIX = "Appendix: every table, the settings and further figures"


def _md_table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "---|" * len(df.columns)
    rows = [
        "| " + " | ".join(fmt(v).replace("|", "/") for v in r) + " |"
        for r in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *rows])


def _html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in r) + "</tr>"
        for r in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md(b: Block) -> list[str]:
    if b.kind in ("h2", "h3"):
        return [("## " if b.kind == "h2" else "### ") + str(b.content), ""]
    if b.kind == "p":
        return [str(b.content), ""]
    if b.kind == "answer":
        return [f"**{b.extra}.** {b.content}", ""]
    if b.kind == "list":
        return [f"- {item}" for item in b.content] + [""]  # type: ignore[union-attr]
    if b.kind == "table":
        return [_md_table(b.content), ""]  # type: ignore[arg-type]
    if b.kind == "figures":
        return [f"![{cap}](figures/{Path(p).name})\n" for p, cap in b.content]  # type: ignore[union-attr]
    if b.kind == "details":
        return [f"### {b.extra}", "", *(line for c in b.content for line in _md(c))]  # type: ignore[union-attr]
    raise ValueError(f"unknown block kind {b.kind}")


def to_markdown(title: str, blocks: list[Block]) -> str:
    out = [f"# {title}", ""]
    for b in blocks:
        out += _md(b)
    return "\n".join(out)


def _figure(path: Path, caption: str, printed: bool = False) -> str:
    """A figure embedded as base64; the print variant (rendered to PDF, never saved) links
    the file instead, which WeasyPrint reads without parsing megabytes of base64."""
    if printed:
        src = html.escape(Path(path).resolve().as_uri())
    else:
        src = f"data:image/png;base64,{base64.b64encode(Path(path).read_bytes()).decode()}"
    kind = Path(path).stem.split("_")[0]
    return (
        f"<figure class='fig-{kind}'><img alt='{html.escape(caption)}' src='{src}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _html(b: Block, printed: bool) -> str:
    if b.kind in ("h2", "h3"):
        cls = " class='appendix'" if b.content == APPENDIX else ""
        return f"<{b.kind}{cls}>{html.escape(str(b.content))}</{b.kind}>"
    if b.kind == "p":
        cls = " class='note'" if b.extra == "note" else ""
        return f"<p{cls}>{html.escape(str(b.content))}</p>"
    if b.kind == "answer":
        return (
            f"<p class='answer'><strong>{html.escape(b.extra)}.</strong> "
            f"{html.escape(str(b.content))}</p>"
        )
    if b.kind == "list":
        items = "".join(f"<li>{html.escape(str(i))}</li>" for i in b.content)  # type: ignore[union-attr]
        return f"<ul>{items}</ul>"
    if b.kind == "table":
        return _html_table(b.content)  # type: ignore[arg-type]
    if b.kind == "figures":
        figs = "".join(_figure(p, cap, printed) for p, cap in b.content)  # type: ignore[union-attr]
        return f"<div class='figs {b.extra}'>{figs}</div>"
    if b.kind == "details":
        inner = "\n".join(_html(c, printed) for c in b.content)  # type: ignore[union-attr]
        opened = " open" if printed else ""
        return f"<details{opened}><summary>{html.escape(b.extra)}</summary>\n{inner}\n</details>"
    raise ValueError(f"unknown block kind {b.kind}")


CSS = """body{font-family:sans-serif;max-width:1240px;margin:1.5em auto;padding:0 1em;color:#222;
line-height:1.4}
h1{font-size:1.5em;margin:0.3em 0}h2{margin-top:1.4em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1.2em}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}th{background:#f0f0f0}
.note{background:#fff6e0;border-left:4px solid #e0a000;padding:0.5em 1em}
.answer{border-left:4px solid #4a7ab5;padding:0.1em 0.8em;margin:0.6em 0}
figure{margin:0.8em 0}figcaption{font-size:0.85em;color:#555}
img{max-width:100%;height:auto}
details{margin:0.4em 0;border:1px solid #ddd;border-radius:4px;padding:0.2em 0.8em}
summary{cursor:pointer;font-weight:bold;padding:0.3em 0}"""


def to_html(
    title: str, blocks: list[Block], printed: bool = False, heading: bool = True, css: str = ""
) -> str:
    """The page; `printed` opens every collapsible section and adds the print style sheet
    (the PDF is rendered from that variant); `heading` puts the title on top; `css` is
    added to the style sheet."""
    css = CSS + ("\n" + PRINT_CSS if printed else "") + (f"\n{css}" if css else "")
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width'>"
        f"<title>{html.escape(title)}</title><style>{css}</style></head><body>",
    ]
    if heading:
        parts.append(f"<h1>{html.escape(title)}</h1>")
    parts += [_html(b, printed) for b in blocks]
    parts.append("</body></html>")
    return "\n".join(parts)


def provenance_lines(prov: dict) -> list[str]:
    return [f"{k}: {v}" for k, v in prov["versions"].items()] + [
        f"input {prov['trial']['path']} sha256 {prov['trial']['sha256']}",
        f"plan {prov['plan']['path']} sha256 {prov['plan']['sha256']}",
        f"seed {prov['seed']}; created {prov['created_utc']}",
        f"re-run: {prov['rerun']}",
    ]


def data_note(r: SavedResults) -> Block:
    """The banner: where the numbers come from and what is reconstructed."""
    return Block(
        "p",
        f"Study {r.study.id}: {r.study.title}. Source: {r.study.source}. Data level: "
        f"{r.study.data_level}"
        + (
            "; survival is also fitted to RECONSTRUCTED pseudo-patient data (models ending in "
            f"{RECONSTRUCTED_SUFFIX}), which are not trial data"
            if r.summary["model"].map(is_reconstructed).any()
            else ""
        )
        + ". What is reconstructed, assumed or approximate is listed in the appendix.",
        "note",
    )


def report_blocks(r: SavedResults) -> list[Block]:
    """The whole report in reading order: banner, answer, evidence, appendix."""
    blocks = [data_note(r), *answer_blocks(r), *evidence_blocks(r), *oc_blocks(r)]
    blocks.append(Block("h2", APPENDIX))
    blocks += appendix_blocks(r, r.provenance["assumptions"]) + oc_appendix(r)
    blocks.append(Block("details", [Block("list", provenance_lines(r.provenance))], "Provenance"))
    return blocks


def title_of(r: SavedResults) -> str:
    return (
        f"Bayesian re-analysis of {r.study.id}: is {r.study.treatment} "
        f"non-inferior to {r.study.control}?"
    )


def render(r: SavedResults) -> tuple[str, str]:
    """report.md and report.html texts for a saved results folder."""
    title, blocks = title_of(r), report_blocks(r)
    return to_markdown(title, blocks), to_html(title, blocks)


def _figure_files(blocks: list[Block]) -> list[Path]:
    out: list[Path] = []
    for b in blocks:
        if b.kind == "figures":
            out += [Path(p) for p, _ in b.content]  # type: ignore[union-attr]
        elif b.kind == "details":
            out += _figure_files(b.content)  # type: ignore[arg-type]
    return out


class ReportWriter:
    """The report of a saved results folder, written in two steps, so that the PDF's
    appendix (most of the PDF's layout time: every table) is laid out while the main part's
    figures are still being drawn: `render_appendix()` needs only the figures the appendix
    shows (`appendix_figures`), `write()` every figure. The PDF is the main part followed by
    the appendix, whose pages are numbered A-1, A-2, ..."""

    def __init__(self, r: SavedResults) -> None:
        self.folder = r.folder
        self.title, self.blocks = title_of(r), report_blocks(r)
        heads = [b.kind == "h2" and b.content == APPENDIX for b in self.blocks]
        self.cut = heads.index(True)
        self.pdf = PdfParts()

    @property
    def appendix_figures(self) -> list[Path]:
        """The figure files the appendix shows."""
        return _figure_files(self.blocks[self.cut :])

    def render_appendix(self) -> None:
        """Lay out the PDF's appendix (its figures must be on disk)."""
        page = to_html(
            self.title, self.blocks[self.cut :], True, heading=False, css=APPENDIX_PAGES_CSS
        )
        self.pdf.render("appendix", page, self.folder)

    def write(self) -> list[Path]:
        """report.md, report.html and (when WeasyPrint is available) report.pdf; every
        figure must be on disk. Each is written to a temporary file and renamed, so a
        failure leaves the old report in place; a PDF that cannot be made is reported in
        one line on stderr and the other files are still written."""
        title, blocks, out = self.title, self.blocks, []
        texts = {"report.md": to_markdown(title, blocks), "report.html": to_html(title, blocks)}
        for name, text in texts.items():
            tmp = self.folder / f".{name}.tmp"
            tmp.write_text(text)
            tmp.replace(self.folder / name)
            out.append(self.folder / name)
        if "appendix" not in self.pdf.docs:
            self.render_appendix()
        self.pdf.render("main", to_html(title, blocks[: self.cut], printed=True), self.folder)
        pdf = self.pdf.write(self.folder / "report.pdf", ["main", "appendix"])
        return out + ([pdf] if pdf else [])


def write_report(folder: Path) -> list[Path]:
    """(Re)build report.md, report.html and (when WeasyPrint is available) report.pdf in a
    results folder from its saved files (see `ReportWriter.write`)."""
    return ReportWriter(load_results(folder)).write()
