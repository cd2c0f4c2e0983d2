"""The report as one self-contained HTML page.

Figures are embedded as ``data:image/png;base64`` URIs and the style sheet is inline,
so the page opens in a browser from anywhere, with no other file and no network.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Iterable

from .document import (
    DIVERGED,
    MISSING,
    NOT_AVAILABLE,
    Block,
    Cell,
    FigureRef,
    Heading,
    Paragraph,
    Table,
)

__all__ = ["to_html"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 78rem; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2.2rem; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
.table-wrap { overflow-x: auto; margin: 0.8rem 0 1.4rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.4rem; }
th, td { padding: 0.2rem 0.55rem; white-space: nowrap; }
thead th { border-top: 2px solid #222; border-bottom: 1px solid #222; }
tbody tr:last-child td { border-bottom: 2px solid #222; }
tr.group td { border-top: 1px solid #999; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { font-weight: 700; }
td.diverged, td.missing { font-style: italic; color: #a61b1b; }
td.na { color: #777; }
td.wrap { white-space: normal; min-width: 16rem; max-width: 32rem; }
ul.notes { font-size: 0.8rem; color: #444; margin-top: 0.3rem; }
figure { margin: 1.2rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.85rem; color: #444; }
"""


# A text column whose longest cell is longer than this wraps instead of widening the
# table past the page (the "Why n/a" column of the statistics).
_WRAP_AFTER = 40


def _cell_html(cell: Cell, left: bool, wrap: bool = False) -> str:
    classes = []
    if not left:
        classes.append("num")
    if wrap:
        classes.append("wrap")
    if cell.best:
        classes.append("best")
    if cell.state in (DIVERGED, MISSING):
        classes.append(cell.state)
    elif cell.state == NOT_AVAILABLE:
        classes.append("na")
    attribute = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attribute}>{html.escape(cell.text)}</td>"


def _table_html(table: Table) -> list[str]:
    anchor = re.sub(r"[^A-Za-z0-9_-]+", "-", table.key)
    aligned = table.left_aligned()
    wrapped = [
        left and any(len(cells[i].text) > _WRAP_AFTER for cells in table.rows)
        for i, left in enumerate(aligned)
    ]
    lines = [
        f'<div class="table-wrap"><table id="{anchor}">',
        f"<caption>{html.escape(table.title)}</caption>",
        "<thead><tr>"
        + "".join(f"<th>{html.escape(name)}</th>" for name in table.header)
        + "</tr></thead>",
        "<tbody>",
    ]
    for index, cells in enumerate(table.rows):
        group = ' class="group"' if index in table.breaks and index > 0 else ""
        body = "".join(
            _cell_html(cell, left, wrap)
            for cell, left, wrap in zip(cells, aligned, wrapped, strict=True)
        )
        lines.append(f"<tr{group}>{body}</tr>")
    lines.append("</tbody></table>")
    if table.notes:
        lines.append('<ul class="notes">')
        lines.extend(f"<li>{html.escape(note)}</li>" for note in table.notes)
        lines.append("</ul>")
    lines.append("</div>")
    return lines


def to_html(
    blocks: Iterable[Block],
    title: str,
    read_png: Callable[[str], bytes],
) -> str:
    """Render blocks as one self-contained HTML page.

    Args:
        blocks: The report's blocks.
        title: The page title.
        read_png: Returns the bytes of a figure's PNG, given :attr:`FigureRef.png`.

    Returns:
        The page, UTF-8 text.
    """
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            level = min(max(block.level, 1), 6)
            lines.append(f"<h{level}>{html.escape(block.text)}</h{level}>")
        elif isinstance(block, Paragraph):
            lines.append(f"<p>{html.escape(block.text)}</p>")
        elif isinstance(block, Table):
            lines.extend(_table_html(block))
        elif isinstance(block, FigureRef):
            data = base64.b64encode(read_png(block.png)).decode("ascii")
            caption = html.escape(block.caption)
            lines += [
                "<figure>",
                f'<img src="data:image/png;base64,{data}" alt="{caption}">',
                f"<figcaption>{caption}</figcaption>",
                "</figure>",
            ]
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines)
