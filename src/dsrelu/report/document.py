"""A small document model for the report, and its Markdown and LaTeX renderings.

The report is a list of blocks (:class:`Heading`, :class:`Paragraph`, :class:`Table`,
:class:`FigureRef`). Markdown and HTML (see :mod:`dsrelu.report.html`) render all of
them; LaTeX renders the tables only, with booktabs rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "Block",
    "Cell",
    "FigureRef",
    "Heading",
    "Paragraph",
    "Table",
    "latex_escape",
    "tables_to_latex",
    "to_markdown",
]

#: Cell states; anything but ``"number"`` is shown as a word, never as a number.
NUMBER = "number"
LABEL = "label"
DIVERGED = "diverged"
MISSING = "missing"
NOT_AVAILABLE = "n/a"


@dataclass(frozen=True)
class Cell:
    """One table cell.

    Attributes:
        text: What the cell shows.
        value: The number behind ``text`` in the units shown, unrounded (NaN for words).
        spread: A second number behind ``text`` where it shows one, such as the
            standard deviation of ``mean ± std`` (NaN otherwise).
        best: Whether the cell is the best of its row (shown in bold).
        state: ``"number"``, ``"label"``, ``"diverged"``, ``"missing"`` or ``"n/a"``.
    """

    text: str
    value: float = math.nan
    spread: float = math.nan
    best: bool = False
    state: str = NUMBER


@dataclass(frozen=True)
class Table:
    """A table with leading label columns and a title.

    Attributes:
        key: A short identifier, unique in a report (used for anchors and labels).
        title: The caption, including the protocol warning where there is one.
        header: Column names, label columns first.
        rows: Rows of cells, each as long as ``header``.
        n_labels: How many leading columns are row labels (left aligned).
        notes: Sentences shown under the table.
        breaks: Indices of rows that start a new group (a rule above them).
    """

    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    n_labels: int = 1
    notes: tuple[str, ...] = ()
    breaks: frozenset[int] = field(default_factory=frozenset)

    def left_aligned(self) -> list[bool]:
        """Whether each column is left aligned: the label columns and all-text columns."""
        return [
            i < self.n_labels or all(cells[i].state == LABEL for cells in self.rows)
            for i in range(len(self.header))
        ]

    def row(self, *labels: str) -> Mapping[str, Cell]:
        """Return the row whose label cells read ``labels``, as column name -> cell.

        Raises:
            KeyError: if no row has these labels.
        """
        for cells in self.rows:
            if tuple(cell.text for cell in cells[: len(labels)]) == labels:
                return dict(zip(self.header, cells, strict=True))
        raise KeyError(f"table {self.key!r} has no row {labels!r}")


@dataclass(frozen=True)
class Heading:
    """A section heading; ``level`` 1 is the page title."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class FigureRef:
    """A figure stored next to the report.

    Attributes:
        png: Path of the PNG, relative to the report directory.
        pdf: Path of the PDF, relative to the report directory.
        caption: What the figure shows.
    """

    png: str
    pdf: str
    caption: str


Block = Heading | Paragraph | Table | FigureRef


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def _md_cell(cell: Cell) -> str:
    text = _md_escape(cell.text)
    if cell.best:
        return f"**{text}**"
    if cell.state in (DIVERGED, MISSING):
        return f"*{text}*"
    return text


def _md_table(table: Table) -> list[str]:
    lines = [f"**{_md_escape(table.title)}**", ""]
    lines.append("| " + " | ".join(_md_escape(name) for name in table.header) + " |")
    aligns = [":--" if left else "--:" for left in table.left_aligned()]
    lines.append("| " + " | ".join(aligns) + " |")
    for cells in table.rows:
        lines.append("| " + " | ".join(_md_cell(cell) for cell in cells) + " |")
    if table.notes:
        lines.append("")
        lines.extend(f"- {_md_escape(note)}" for note in table.notes)
    return lines


def to_markdown(blocks: Iterable[Block]) -> str:
    """Render blocks as a Markdown document (GitHub-flavoured tables).

    Best cells are bold; diverged and missing cells are italic words.
    """
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines.append("#" * block.level + " " + block.text)
        elif isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, Table):
            lines.extend(_md_table(block))
        elif isinstance(block, FigureRef):
            lines.append(f"![{_md_escape(block.caption)}]({block.png})")
            lines.append("")
            lines.append(f"{_md_escape(block.caption)} ([PNG]({block.png}), [PDF]({block.pdf}))")
        lines.append("")
    return "\n".join(lines)


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "×": r"$\times$",
    "−": r"$-$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "°": r"$^\circ$",
}
_LATEX_PATTERN = re.compile("|".join(re.escape(char) for char in _LATEX_SPECIALS))


def latex_escape(text: str) -> str:
    """Escape ``text`` for LaTeX text mode (also maps ±, ×, −, ≥, ≤ and ° to math)."""
    return _LATEX_PATTERN.sub(lambda match: _LATEX_SPECIALS[match.group(0)], text)


def _tex_cell(cell: Cell) -> str:
    text = latex_escape(cell.text)
    if cell.best:
        return rf"\textbf{{{text}}}"
    if cell.state in (DIVERGED, MISSING):
        return rf"\textit{{{text}}}"
    return text


def _tex_table(table: Table) -> list[str]:
    spec = "".join("l" if left else "r" for left in table.left_aligned())
    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        r"\small",
        rf"\caption{{{latex_escape(table.title)}}}",
        rf"\label{{tab:{re.sub(r'[^A-Za-z0-9:-]+', '-', table.key)}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(latex_escape(name) for name in table.header) + r" \\",
        r"\midrule",
    ]
    for index, cells in enumerate(table.rows):
        if index in table.breaks and index > 0:
            lines.append(r"\midrule")
        lines.append(" & ".join(_tex_cell(cell) for cell in cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    for note in table.notes:
        lines.append(rf"\par\smallskip\footnotesize {latex_escape(note)}")
    lines.append(r"\end{table}")
    return lines


def tables_to_latex(tables: Sequence[Table], preamble: str = "") -> str:
    """Render tables as LaTeX ``table`` floats with booktabs rules, best cells bold.

    Args:
        tables: The tables, in order.
        preamble: Comment lines put at the top (each line is prefixed with ``%``).

    Returns:
        LaTeX source to ``\\input`` into a document that loads ``booktabs``.
    """
    lines = [f"% {line}" for line in preamble.splitlines()]
    lines.append("% Needs \\usepackage{booktabs} in the preamble.")
    for table in tables:
        lines.append("")
        lines.extend(_tex_table(table))
    return "\n".join(lines) + "\n"
