"""Settings of a comparison run, their presets, validation and command-line flags."""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

from ..data import available_datasets
from ..errors import ConfigError
from ..registry import PAPER_ACTIVATIONS, available_activations

__all__ = ["PRESETS", "RunConfig", "add_run_arguments", "config_from_args"]

#: Settings bundled by ``--preset``; explicit flags override them.
PRESETS: dict[str, dict[str, Any]] = {
    # The paper's protocol (DESIGN.md section 3).
    "paper": {
        "folds": 5,
        "max_epochs": 150,
        "patience": 15,
        "batch_size": 32,
        "lr": 1e-4,
        "precise_bn": 0,
    },
    # A small budget for a first look on 2 CPU cores: about 10 minutes on digits.
    "quick": {
        "folds": 3,
        "max_epochs": 4,
        "patience": 2,
        "batch_size": 32,
        "lr": 1e-4,
        "image_size": 16,
        "precise_bn": 10,
    },
}

SELECT_ON = ("inner", "held-out")
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
PRECISIONS = ("32", "bf16")

#: Settings that do not change results and may differ when a run is resumed.
NON_PROTOCOL = ("data_dir", "device", "download")


@dataclass(frozen=True)
class RunConfig:
    """Every setting of a comparison run; saved to ``config.json``.

    Attributes mirror the ``dsrelu run`` flags. ``select_on="inner"`` (the default)
    selects the best epoch on a stratified validation split held back from each
    training part, and reports on the held-out fold; ``"held-out"`` selects on the
    held-out fold itself, as the paper did, which makes the reported numbers
    optimistic.
    """

    datasets: tuple[str, ...] = ("digits",)
    activations: tuple[str, ...] = PAPER_ACTIVATIONS
    preset: str = "paper"
    folds: int = 5
    max_epochs: int = 150
    patience: int = 15
    batch_size: int = 32
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    seed: int = 0
    select_on: str = "inner"
    val_fraction: float = 0.1
    image_size: int | None = None
    limit_samples: int | None = None
    precise_bn: int = 0
    precision: str = "32"
    deterministic: bool = False
    device: str = "auto"
    data_dir: str | None = None
    download: bool = False

    def __post_init__(self) -> None:
        self._check_names("dataset", self.datasets, available_datasets())
        self._check_names("activation", self.activations, available_activations())
        if len(set(self.datasets)) != len(self.datasets):
            raise ConfigError(f"datasets must not repeat, got {','.join(self.datasets)}")
        if not _DEVICE.fullmatch(self.device):
            raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if len(set(self.activations)) != len(self.activations):
            raise ConfigError(f"activations must not repeat, got {','.join(self.activations)}")
        if self.preset not in PRESETS:
            raise ConfigError(f"unknown preset {self.preset!r}; valid: {', '.join(PRESETS)}")
        if self.select_on not in SELECT_ON:
            raise ConfigError(
                f"select_on must be one of {', '.join(SELECT_ON)}, got {self.select_on!r}"
            )
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        self._check_int("folds", self.folds, 2)
        self._check_int("max_epochs", self.max_epochs, 1)
        self._check_int("patience", self.patience, 1)
        self._check_int("batch_size", self.batch_size, 2)
        self._check_int("seed", self.seed, 0)
        self._check_int("precise_bn", self.precise_bn, 0)
        if self.image_size is not None:
            self._check_int("image_size", self.image_size, 1)
        if self.limit_samples is not None:
            self._check_int("limit_samples", self.limit_samples, 2)
        for name in ("lr", "eps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
        if not all(0 <= beta < 1 for beta in self.betas) or len(self.betas) != 2:
            raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        if not (0 < self.val_fraction < 1):
            raise ConfigError(f"val_fraction must be in (0, 1), got {self.val_fraction!r}")

    @staticmethod
    def _check_names(kind: str, names: tuple[str, ...], valid: list[str]) -> None:
        if not names:
            raise ConfigError(f"at least one {kind} is needed")
        for name in names:
            if name not in valid:
                raise ConfigError(f"unknown {kind} {name!r}; valid names: {', '.join(valid)}")

    @staticmethod
    def _check_int(name: str, value: Any, minimum: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (tuples become lists)."""
        return json_ready(dataclasses.asdict(self))

    def protocol(self) -> dict[str, Any]:
        """The settings that change results: compared when a run directory is reused."""
        return {k: v for k, v in self.to_dict().items() if k not in NON_PROTOCOL}


def json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    return value


def _names(text: str) -> tuple[str, ...]:
    return tuple(item.strip().lower().replace("_", "-") for item in text.split(",") if item.strip())


def _activation_names(text: str) -> tuple[str, ...]:
    return tuple(item.strip().lower().replace("-", "_") for item in text.split(",") if item.strip())


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``dsrelu run`` flags to ``parser`` (defaults come from the preset)."""
    add = parser.add_argument
    add(
        "--dataset",
        type=_names,
        default=("digits",),
        metavar="NAME[,NAME]",
        help=f"dataset(s): {', '.join(available_datasets())} (default: digits)",
    )
    add("--data-dir", default=None, metavar="PATH", help="where the dataset files are")
    add("--download", action="store_true", help="download the dataset if missing (needs network)")
    add(
        "--activations",
        type=_activation_names,
        default=None,
        metavar="A,B,...",
        help="activations to compare (default: the paper's six: "
        f"{','.join(PAPER_ACTIVATIONS)}); known: {', '.join(available_activations())}",
    )
    add(
        "--preset",
        choices=tuple(PRESETS),
        default=None,
        help="bundle of settings (default: quick for digits, paper otherwise)",
    )
    add("--folds", type=int, default=None, help="stratified folds k (paper: 5)")
    add("--max-epochs", type=int, default=None, help="epoch budget per fold (paper: 150)")
    add("--patience", type=int, default=None, help="early-stopping patience (paper: 15)")
    add("--batch-size", type=int, default=None, help="batch size (paper: 32)")
    add("--lr", type=float, default=None, help="Adam learning rate (paper: 1e-4)")
    add("--seed", type=int, default=0, help="seed of folds, splits, weights and order")
    add(
        "--select-on",
        choices=SELECT_ON,
        default="inner",
        help="select the best epoch on an inner validation split (honest, default) or on "
        "the held-out fold (the paper's protocol, optimistic)",
    )
    add("--val-fraction", type=float, default=0.1, help="inner validation share (default 0.1)")
    add("--image-size", type=int, default=None, help="resize images to this square size")
    add(
        "--precise-bn",
        type=int,
        default=None,
        metavar="N",
        help="re-estimate BatchNorm statistics on N training batches before each "
        "evaluation (0: off; paper preset: 0, quick preset: 10)",
    )
    add(
        "--limit-samples",
        type=int,
        default=None,
        metavar="N",
        help="use a stratified random subset of N samples per dataset (for trials)",
    )
    add("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    add("--precision", choices=PRECISIONS, default="32", help="32 or bf16 (mixed, for GPUs)")
    add("--deterministic", action="store_true", help="deterministic algorithms (bit-exact reruns)")
    add("--out", default=None, metavar="DIR", help="results directory (default: runs/<dataset>)")
    add(
        "--force",
        action="store_true",
        help="reuse --out with a different config; earlier results move to a backup folder",
    )
    add("--keep-checkpoints", action="store_true", help="keep each cell's last checkpoint")
    add("--no-progress-bar", action="store_true", help="no per-epoch progress bar")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Resolve the preset and the explicit flags into a :class:`RunConfig`.

    Raises:
        ConfigError: if a setting is out of range or a name is unknown.
    """
    datasets = tuple(args.dataset)
    preset = args.preset or ("quick" if datasets == ("digits",) else "paper")
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
    settings = dict(PRESETS[preset])
    for name in ("folds", "max_epochs", "patience", "batch_size", "lr", "image_size", "precise_bn"):
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    if args.activations is not None and not args.activations:
        raise ConfigError("--activations is empty; give names such as relu,dsrelu")
    return RunConfig(
        datasets=datasets,
        activations=args.activations or PAPER_ACTIVATIONS,
        preset=preset,
        seed=args.seed,
        select_on=args.select_on,
        val_fraction=args.val_fraction,
        limit_samples=args.limit_samples,
        precision=args.precision,
        deterministic=args.deterministic,
        device=args.device,
        data_dir=args.data_dir,
        download=args.download,
        **settings,
    )
