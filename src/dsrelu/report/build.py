"""``dsrelu report DIR``: write a run's tables, statistics and figures to ``DIR/report/``.

The report is built in a temporary directory next to ``report/`` and moved into place
when complete, so ``DIR/report/`` holds either the previous report or the new one,
never a half-written file.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

from matplotlib.figure import Figure

from ..errors import ResultsError
from ..results import EPOCHS_FILE, write_csv_rows
from .document import Block, FigureRef, Heading, Paragraph, Table, tables_to_latex, to_markdown
from .figures import (
    curves_figure,
    epoch_time_figure,
    save_figure,
    slope_figure,
)
from .html import to_html
from .load import HELD_OUT, INNER, MISSING, REFERENCE, RunData, load_run
from .tables import (
    SUMMARY_COLUMNS,
    epoch_time_ratio_table,
    epoch_time_table,
    fold_table,
    improvement_table,
    mean_table,
    statistics_table,
    summary_rows,
)

__all__ = [
    "REPORT_DIR",
    "REPORT_FILES",
    "build_report",
    "report_blocks",
]

log = logging.getLogger(__name__)

#: The report's directory inside the run directory.
REPORT_DIR = "report"
#: The files written at the top of the report directory (figures go to ``figures/``).
REPORT_FILES = ("report.md", "report.html", "tables.tex", "summary.csv")
_FIGURES = "figures"
_SLOPE_KS = (1.0, 5.0, 10.0)


def build_report(run_dir: str | os.PathLike[str]) -> Path:
    """Write the report of a run to ``run_dir/report/``.

    Writes ``report.md`` (tables and links to the figures), ``report.html`` (one
    self-contained page, figures embedded), ``tables.tex`` (booktabs, best in bold),
    ``summary.csv`` (tidy, fractions) and ``figures/*.png`` and ``*.pdf``. An existing
    ``report/`` is replaced as a whole.

    Args:
        run_dir: A directory written by ``dsrelu run``.

    Returns:
        The report directory.

    Raises:
        ResultsError: if ``run_dir`` is missing or is not a run directory, one of its
            files is damaged (see :func:`~dsrelu.report.load.load_run`), or the report
            cannot be written there.
    """
    run = load_run(run_dir)
    log.info("building the report of %s", run.run_dir)
    report_dir = run.run_dir / REPORT_DIR
    try:
        staging = Path(tempfile.mkdtemp(prefix=".report-", dir=run.run_dir))
        staging.chmod(0o755)
    except OSError as error:
        raise ResultsError(f"{report_dir}: cannot write the report ({error})") from None
    try:
        _write_report(run, staging)
        _swap_into_place(staging, report_dir)
    except OSError as error:
        raise ResultsError(f"{report_dir}: cannot write the report ({error})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("report written to %s", report_dir)
    return report_dir


def _swap_into_place(staging: Path, report_dir: Path) -> None:
    """Move the finished ``staging`` directory to ``report_dir``, replacing it."""
    if not report_dir.exists():
        os.replace(staging, report_dir)
        return
    old = report_dir.with_name(f".report-old-{uuid.uuid4().hex}")
    os.replace(report_dir, old)
    try:
        os.replace(staging, report_dir)
    except OSError:
        os.replace(old, report_dir)
        raise
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)


def _file_stem(name: str, used: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "dataset"
    candidate, number = stem, 2
    while candidate in used:
        candidate, number = f"{stem}-{number}", number + 1
    used.add(candidate)
    return candidate


def _write_figure(figure: Figure, directory: Path, stem: str) -> tuple[str, str]:
    figures = directory / _FIGURES
    png = save_figure(figure, figures / f"{stem}.png")
    pdf = save_figure(figure, figures / f"{stem}.pdf")
    return png.relative_to(directory).as_posix(), pdf.relative_to(directory).as_posix()


def report_blocks(run: RunData, figures: dict[str, tuple[str, str]]) -> list[Block]:
    """The report as blocks, in reading order.

    Args:
        run: The loaded run.
        figures: ``(png, pdf)`` paths relative to the report directory, by figure key:
            ``"slope"``, ``"epoch_time"`` and ``"curves:<dataset>"``. A key that is
            absent leaves a sentence saying why in place of the figure.

    Returns:
        Headings, paragraphs, tables and figure references.
    """
    blocks: list[Block] = [Heading(f"Activation comparison: {run.run_dir.name}", 1)]
    blocks.extend(_introduction(run))
    for dataset in run.datasets:
        blocks.append(Heading(dataset, 2))
        blocks.append(Heading("Per fold", 3))
        blocks.append(fold_table(run, dataset))
        blocks.append(Heading("Mean over folds", 3))
        blocks.append(mean_table(run, dataset))
        blocks.append(Heading(f"Improvement of {REFERENCE}", 3))
        table = improvement_table(run, dataset)
        blocks.append(
            table if table else Paragraph(f"{REFERENCE} is not in this run: no improvement.")
        )
        blocks.append(Heading("Statistics over paired folds", 3))
        table = statistics_table(run, dataset)
        blocks.append(
            table
            if table
            else Paragraph(f"No comparison: the run needs {REFERENCE} and another activation.")
        )
        blocks.append(Heading("Learning curves", 3))
        key = f"curves:{dataset}"
        if key in figures:
            png, pdf = figures[key]
            blocks.append(
                FigureRef(
                    png,
                    pdf,
                    f"{dataset}: train and validation accuracy and loss over epochs, mean "
                    f"over folds with a ± 1 std band; {REFERENCE} in red; diverged folds "
                    "left out; late epochs average the folds that ran that long.",
                )
            )
        elif run.epochs is None:
            blocks.append(Paragraph(f"No learning curves: the run has no {EPOCHS_FILE}."))
        else:
            blocks.append(
                Paragraph(f"No learning curves: {EPOCHS_FILE} has no rows for {dataset}.")
            )

    blocks.append(Heading("Epoch time", 2))
    blocks.append(epoch_time_table(run))
    ratio = epoch_time_ratio_table(run)
    blocks.append(ratio if ratio else Paragraph("relu is not in this run: no time ratio."))
    if "epoch_time" in figures:
        png, pdf = figures["epoch_time"]
        blocks.append(
            FigureRef(png, pdf, "Mean epoch time per dataset and activation, ± 1 std over folds.")
        )

    blocks.append(Heading(f"The {REFERENCE} slope", 2))
    if "slope" in figures:
        png, pdf = figures["slope"]
        ks = ", ".join(f"{k:g}" for k in _SLOPE_KS)
        blocks.append(
            FigureRef(
                png,
                pdf,
                f"s(t) over training progress t for k = {ks}, with the default a = tan(85°) "
                "and b = tan(10°) (dashed lines); `dsrelu slope` draws it alone.",
            )
        )
    blocks.append(Heading("Files", 2))
    blocks.append(
        Paragraph(
            "tables.tex holds every table (booktabs, best in bold); summary.csv holds "
            "mean, std, min and max per dataset, activation, split and metric as fractions, "
            "with the counts of diverged and missing folds; figures/ holds each figure as "
            "PNG and PDF. Made with `dsrelu report DIR`."
        )
    )
    return blocks


def _introduction(run: RunData) -> list[Block]:
    if run.select_on == HELD_OUT:
        protocol = (
            "OPTIMISTIC RESULTS: models were selected (early stopping, restored best "
            "epoch) on the held-out fold, the same fold whose metrics are reported "
            f"(select_on={HELD_OUT}, the paper's protocol). Test figures are biased upward; "
            "every table title says so."
        )
    else:
        protocol = (
            "Models were selected (early stopping, restored best epoch) on an inner "
            "validation split of each training part; the held-out fold was used only to "
            f"report (select_on={INNER})."
        )
    blocks: list[Block] = [
        Paragraph(protocol),
        Paragraph(
            f"k = {run.k} folds. Datasets: {', '.join(run.datasets) or 'none'}. "
            f"Activations: {', '.join(run.activations) or 'none'}. Accuracy, F1 and AUC are "
            "shown in percent (fraction × 100) and their differences in percentage points; "
            "summary.csv keeps fractions. A fold that diverged or is missing reads "
            "'diverged' or 'missing' and never counts as a number."
        ),
    ]
    total = len(run.datasets) * len(run.activations) * run.k
    missing = sum(
        run.status(dataset, activation, fold) == MISSING
        for dataset in run.datasets
        for activation in run.activations
        for fold in range(1, run.k + 1)
    )
    if missing:
        blocks.append(
            Paragraph(
                f"The run is incomplete: {missing} of {total} (dataset, activation, fold) "
                "cells have no result yet."
            )
        )
    return blocks


def _write_report(run: RunData, directory: Path) -> None:
    figures: dict[str, tuple[str, str]] = {}
    used: set[str] = set()
    figures["slope"] = _write_figure(slope_figure(_SLOPE_KS), directory, "slope")
    figures["epoch_time"] = _write_figure(epoch_time_figure(run), directory, "epoch-time")
    for dataset in run.datasets:
        figure = curves_figure(run, dataset)
        if figure is not None:
            stem = "curves-" + _file_stem(dataset, used)
            figures[f"curves:{dataset}"] = _write_figure(figure, directory, stem)

    blocks = report_blocks(run, figures)
    tables = [block for block in blocks if isinstance(block, Table)]
    title = f"Activation comparison: {run.run_dir.name}"
    (directory / "report.md").write_text(to_markdown(blocks), encoding="utf-8")
    page = to_html(blocks, title, lambda name: (directory / name).read_bytes())
    (directory / "report.html").write_text(page, encoding="utf-8")
    preamble = f"{title}\nselect_on={run.select_on}, k={run.k}; made with `dsrelu report DIR`."
    (directory / "tables.tex").write_text(tables_to_latex(tables, preamble), encoding="utf-8")
    write_csv_rows(directory / "summary.csv", SUMMARY_COLUMNS, summary_rows(run))
    for path in directory.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
