"""The ``dsrelu`` command line: ``run``, ``report``, ``slope`` and ``datasets``.

Errors caused by input (see :mod:`dsrelu.errors`) are reported as one line on stderr
with exit code 2; nothing is left half-written.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from .errors import DsreluError

__all__ = ["main"]

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _float_list(text: str) -> list[float]:
    try:
        return [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dsrelu",
        description="DSReLU and the cross-validated activation comparison: run, report, "
        "slope, datasets. Without a command, `run` is meant.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = commands.add_parser("run", help="train and compare activations under k-fold CV")
    from .experiment import add_run_arguments

    add_run_arguments(run)

    report = commands.add_parser("report", help="tables, statistics and figures of a run")
    report.add_argument("run_dir", metavar="DIR", help="a directory written by `dsrelu run`")

    slope = commands.add_parser("slope", help="plot DSReLU's slope s(t) over training progress")
    slope.add_argument("--k", type=_float_list, default=[1.0, 5.0, 10.0], help="steepness values")
    slope.add_argument("--out", default="slope.png", help="output file (.png or .pdf)")

    datasets = commands.add_parser("datasets", help="list the datasets and which are present")
    datasets.add_argument("--data-dir", default=None, help="where the datasets are looked for")
    return parser


def _run_command(args: argparse.Namespace) -> int:
    if args.command == "run":
        import lightning.pytorch  # noqa: F401  (its import sets its own log levels)

        from .experiment import run_from_args

        _quiet_lightning(args)
        return run_from_args(args)
    if args.command == "report":
        from .report import build_report

        out = build_report(args.run_dir)
        print(f"report written to {out}")
        return 0
    if args.command == "slope":
        from .report import plot_slope

        for path in plot_slope(args.out, ks=args.k):
            print(path)
        return 0
    if args.command == "datasets":
        from .data import describe_datasets

        for entry in describe_datasets(args.data_dir):
            mark = "present" if entry["present"] else "absent"
            print(f"{entry['name']:<14} {mark:<8} {entry['description']}  [{entry['location']}]")
        return 0
    raise AssertionError(f"unhandled command {args.command!r}")


@contextmanager
def _logging_to_stderr(level: int) -> Iterator[None]:
    """Send log records (and warnings) to the current stderr while the command runs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        root.setLevel(previous_level)


def _quiet_lightning(args: argparse.Namespace) -> None:
    # Lightning logs device and tip lines for every cell; keep its warnings only.
    level = logging.DEBUG if args.verbose else logging.WARNING
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(level)


_COMMANDS = ("run", "report", "slope", "datasets")
_GLOBAL_FLAGS = ("-h", "--help", "-v", "--verbose", "-q", "--quiet")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # `dsrelu --folds 2` means `dsrelu run --folds 2`.
    first = next((a for a in argv if a not in _GLOBAL_FLAGS[2:]), None)
    if first is None or (first not in _COMMANDS and first not in _GLOBAL_FLAGS):
        globals_ = [a for a in argv if a in _GLOBAL_FLAGS[2:]]
        argv = [*globals_, "run", *[a for a in argv if a not in _GLOBAL_FLAGS[2:]]]
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    with _logging_to_stderr(level):
        try:
            return _run_command(args)
        except DsreluError as error:
            sys.stderr.write(f"dsrelu: error: {error}\n")
            return 2
        except (FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError) as error:
            sys.stderr.write(f"dsrelu: error: {error.filename}: {error.strerror}\n")
            return 2
        except KeyboardInterrupt:
            sys.stderr.write("dsrelu: interrupted; finished results are kept, rerun to resume\n")
            return 130


if __name__ == "__main__":
    raise SystemExit(main())
