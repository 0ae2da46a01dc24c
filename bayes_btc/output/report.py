"""The report (report.md and a self-contained report.html) built from an Analysis.

The document is a list of blocks rendered twice, so both files say the same thing. The HTML
embeds its figures as base64 PNG and uses no external script, font or style sheet.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import pandas as pd

from bayes_btc.output.report_blocks import Block, build_blocks
from bayes_btc.output.saved import SavedResults, load_results


def _fmt(x: object) -> str:
    if isinstance(x, bool):
        return "yes" if x else "NO"
    if isinstance(x, float) and math.isnan(x):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "not reached" if x > 0 else "-inf"
    if isinstance(x, float):
        return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.0f}"
    return str(x)


def _md_table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "---|" * len(df.columns)
    rows = [
        "| " + " | ".join(_fmt(v).replace("|", "/") for v in r) + " |"
        for r in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *rows])


def _html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r) + "</tr>"
        for r in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_markdown(title: str, blocks: list[Block]) -> str:
    out = [f"# {title}", ""]
    for b in blocks:
        if b.kind in ("h2", "h3"):
            out += [("## " if b.kind == "h2" else "### ") + str(b.content), ""]
        elif b.kind == "p":
            out += [str(b.content), ""]
        elif b.kind == "list":
            out += [f"- {item}" for item in b.content] + [""]  # type: ignore[union-attr]
        elif b.kind == "table":
            out += [_md_table(b.content), ""]  # type: ignore[arg-type]
        elif b.kind == "figure":
            out += [f"![{b.extra}](figures/{Path(str(b.content)).name})", ""]
    return "\n".join(out)


CSS = """body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1.2em}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}th{background:#f0f0f0}
.note{background:#fff6e0;border-left:4px solid #e0a000;padding:0.5em 1em}
img{max-width:100%}"""


def to_html(title: str, blocks: list[Block]) -> str:
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for b in blocks:
        if b.kind in ("h2", "h3"):
            parts.append(f"<{b.kind}>{html.escape(str(b.content))}</{b.kind}>")
        elif b.kind == "p":
            cls = " class='note'" if b.extra == "note" else ""
            parts.append(f"<p{cls}>{html.escape(str(b.content))}</p>")
        elif b.kind == "list":
            items = "".join(f"<li>{html.escape(str(i))}</li>" for i in b.content)  # type: ignore[union-attr]
            parts.append(f"<ul>{items}</ul>")
        elif b.kind == "table":
            parts.append(_html_table(b.content))  # type: ignore[arg-type]
        elif b.kind == "figure":
            data = base64.b64encode(Path(str(b.content)).read_bytes()).decode()
            parts.append(
                f"<figure><img alt='{html.escape(b.extra)}' "
                f"src='data:image/png;base64,{data}'>"
                f"<figcaption>{html.escape(b.extra)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def provenance_lines(prov: dict) -> list[str]:
    return [f"{k}: {v}" for k, v in prov["versions"].items()] + [
        f"input {prov['trial']['path']} sha256 {prov['trial']['sha256']}",
        f"plan {prov['plan']['path']} sha256 {prov['plan']['sha256']}",
        f"seed {prov['seed']}; created {prov['created_utc']}",
        f"re-run: {prov['rerun']}",
    ]


def render(r: SavedResults) -> tuple[str, str]:
    """report.md and report.html texts for a saved results folder."""
    title = (
        f"Bayesian re-analysis of {r.study.id}: is {r.study.treatment} "
        f"non-inferior to {r.study.control}?"
    )
    blocks = build_blocks(r, r.figures, r.provenance["assumptions"])
    blocks += [Block("h2", "Provenance"), Block("list", provenance_lines(r.provenance))]
    return to_markdown(title, blocks), to_html(title, blocks)


def write_report(folder: Path) -> tuple[Path, Path]:
    """(Re)build report.md and report.html in a results folder from its saved files. Each is
    written to a temporary file and renamed, so a failure leaves the old report in place."""
    md, page = render(load_results(folder))
    out = []
    for name, text in (("report.md", md), ("report.html", page)):
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(folder / name)
        out.append(folder / name)
    return out[0], out[1]
