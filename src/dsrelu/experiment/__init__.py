"""The activation comparison: ResNet-34 x activations x stratified k folds.

:func:`run_experiment` runs or resumes a grid into a results directory;
:func:`run_from_args` is ``dsrelu run``. Lightning is imported only when training starts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .config import PRESETS, RunConfig, add_run_arguments, config_from_args
from .models import build_model
from .runner import format_summary, run_experiment

__all__ = [
    "PRESETS",
    "RunConfig",
    "add_run_arguments",
    "build_model",
    "config_from_args",
    "format_summary",
    "run_experiment",
    "run_from_args",
]


def run_from_args(args: argparse.Namespace) -> int:
    """Run ``dsrelu run`` from parsed arguments; print the summary; return the exit code."""
    config = config_from_args(args)
    out = Path(args.out) if args.out else Path("runs") / "-".join(config.datasets)
    rows = run_experiment(
        config,
        out,
        force=args.force,
        progress_bar=not args.no_progress_bar,
        keep_checkpoints=args.keep_checkpoints,
    )
    print(format_summary(rows, config))
    print(f"\nresults in {out}; tables and figures: dsrelu report {out}")
    return 0
