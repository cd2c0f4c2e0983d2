"""Tables, statistics and figures of a comparison run (``dsrelu report``, ``dsrelu slope``).

:func:`build_report` turns a run directory's ``folds.csv`` and ``epochs.csv`` into
``DIR/report/``: ``report.md``, a self-contained ``report.html``, ``tables.tex`` and a
tidy ``summary.csv``, with figures as PNG and PDF. The pieces behind the numbers
(:func:`improvement`, :func:`paired_statistics`, :func:`holm`, ...) are public so that
each figure in a report can be checked on its own.
"""

from .build import REPORT_DIR, REPORT_FILES, build_report, report_blocks
from .figures import (
    curves_figure,
    epoch_time_figure,
    plot_slope,
    save_figure,
    slope_figure,
)
from .load import RunData, load_run
from .stats import (
    PairedStatistics,
    holm,
    improvement,
    mean_std,
    paired_statistics,
    wilcoxon_min_p,
)
from .tables import (
    Comparison,
    Improvement,
    comparisons,
    epoch_time_ratio_table,
    epoch_time_table,
    fold_table,
    improvement_table,
    improvements,
    mean_table,
    statistics_table,
    summary_rows,
)

__all__ = [
    "REPORT_DIR",
    "REPORT_FILES",
    "Comparison",
    "Improvement",
    "PairedStatistics",
    "RunData",
    "build_report",
    "comparisons",
    "curves_figure",
    "epoch_time_figure",
    "epoch_time_ratio_table",
    "epoch_time_table",
    "fold_table",
    "holm",
    "improvement",
    "improvement_table",
    "improvements",
    "load_run",
    "mean_std",
    "mean_table",
    "paired_statistics",
    "plot_slope",
    "report_blocks",
    "save_figure",
    "slope_figure",
    "statistics_table",
    "summary_rows",
    "wilcoxon_min_p",
]
