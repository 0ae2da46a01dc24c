"""report.pdf from the report's print variant with WeasyPrint (offline: the page embeds
everything it shows). The PDF can be rendered in parts (`PdfParts`: the appendix, most of the
layout time, while the main part's figures are still being drawn) whose pages are joined into
one file. A missing or failing WeasyPrint is reported in one line on stderr and leaves no PDF
(any earlier one is removed, so a PDF never disagrees with the HTML)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Print style sheet: A4, figures two to a row (the summary full width), the appendix on a new
# page, tables in small type, headings kept with what follows.
PRINT_CSS = """@page{size:A4;margin:14mm 12mm 14mm 12mm;
@bottom-right{content:counter(page);font-size:8pt;color:#666}}
@media print{body{max-width:none;margin:0;padding:0;font-size:9.5pt;line-height:1.3}
h1{font-size:14pt}h2{font-size:12pt;margin-top:0.8em;break-after:avoid}
h3{font-size:10.5pt;margin:0.6em 0 0.2em;break-after:avoid}
h2.appendix{break-before:page}
.figs{text-align:center;orphans:1;widows:1}
.figs figure{display:inline-block;width:49%;margin:0.2em 0;vertical-align:top;
break-inside:avoid}
.figs.wide figure{width:78%}.figs figure.fig-tipping{width:42%}
figcaption{font-size:7.5pt}
table{font-size:6.5pt;break-inside:auto}tr{break-inside:avoid}
details{border:none;padding:0}summary{font-size:11pt;margin-top:0.6em;break-after:avoid}
p,li{orphans:2;widows:2}}"""

# The appendix, rendered on its own, numbers its pages, ... (its first page number
# would otherwise depend on the main part, rendered later).
APPENDIX_PAGES_CSS = '@page{@bottom-right{content:"A-" counter(page)}}'


class PdfParts:
    """report.pdf rendered part by part (`render`, in any order, each when its figures are
    on disk) and written as one file with the parts' pages in a given order (`write`). The
    first failure stops the rendering and is reported once, by `write`."""

    def __init__(self) -> None:
        self.docs: dict[str, Any] = {}
        self.error: Exception | None = None

    def render(self, name: str, page: str, base: Path) -> None:
        """Lay out part `name` from its HTML `page` (relative links resolved from `base`)."""
        if self.error is not None:
            return
        try:
            from weasyprint import HTML

            self.docs[name] = HTML(string=page, base_url=str(base)).render()
        except Exception as exc:  # ImportError, missing system libraries, rendering errors
            self.error = exc

    def write(self, path: Path, order: list[str]) -> Path | None:
        """The parts' pages in `order` as one PDF at `path`; None (and one line on stderr)
        when WeasyPrint is unavailable or failed."""
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            if self.error is not None:
                raise self.error
            docs = [self.docs[name] for name in order]
            docs[0].copy([p for d in docs for p in d.pages]).write_pdf(tmp)
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            msg = f"report.pdf not written: WeasyPrint unavailable or failed ({reason})"
            print(msg, file=sys.stderr)
            return None
        tmp.replace(path)
        return path


def write_pdf(page: str, path: Path) -> Path | None:
    """Render `page` (HTML, one part) to `path`; None (and one line on stderr) when it
    cannot."""
    parts = PdfParts()
    parts.render("page", page, path.parent)
    return parts.write(path, ["page"])
