"""`Block`: one piece of the report (heading, paragraph, list, table, figures, collapsible
section), rendered to Markdown and HTML by `output/report.py`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """kind: h2, h3, p, answer (paragraph led by a bold `extra`), list, table, figures
    (content: [(png path, caption)], extra 'wide' for full width in print) or details
    (a collapsible section: `extra` is its title, content a list of Blocks)."""

    kind: str
    content: object
    extra: str = ""
