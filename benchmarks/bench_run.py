"""Cost of the comparison harness, measured side by side in one run.

Usage::

    python benchmarks/bench_run.py [--epochs 3] [--rounds 4] [--image-size 16]

Reports two ratios on the main job's data (digits at the quick preset's 16x16, batch
32, ResNet-34, Adam) on this machine's CPU (or CUDA when present):

1. epoch time of DSReLU over ReLU, both trained by the harness (``train_cell``) on
   the same split, cells interleaved, median over the epochs after the first;
   target at most 1.03;
2. time per optimizer step of the harness (Lightning loop, metric bookkeeping,
   progress callback, early stopping) over a bare PyTorch loop doing the same
   forward, loss, backward and Adam step on the same model and batches;
   target at most 1.10.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
import torch.nn.functional as F

from dsrelu.data import load_dataset
from dsrelu.experiment import build_model
from dsrelu.experiment.engine import CellSplits, TrainSettings, train_cell


class StepTimer(pl.Callback):
    """Wall time of each optimizer step inside the harness (batch start to batch end)."""

    def __init__(self) -> None:
        self.steps: list[float] = []
        self._start = 0.0

    def on_train_batch_start(self, *args: object) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, *args: object) -> None:
        self.steps.append(time.perf_counter() - self._start)


def harness_times(
    data, activation: str, splits, epochs: int, batch_size: int
) -> tuple[list[float], list[float]]:
    timer = StepTimer()
    settings = TrainSettings(
        max_epochs=epochs,
        patience=epochs,
        batch_size=batch_size,
        lr=1e-4,
        betas=(0.9, 0.999),
        eps=1e-8,
        device="auto",
        checkpoint_interval_s=1e9,
    )
    with tempfile.TemporaryDirectory() as folder:
        result = train_cell(
            data,
            activation,
            splits,
            settings,
            seed=1,
            checkpoint_dir=Path(folder),
            callbacks=[timer],
        )
    return [row["epoch_time_s"] for row in result.history], timer.steps


def bare_times(
    data, train: np.ndarray, epochs: int, batch_size: int
) -> tuple[list[float], list[float]]:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(1)
    model = build_model("relu", in_channels=data.in_channels, num_classes=data.num_classes)
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    indices = torch.as_tensor(train)
    times, steps = [], []
    for epoch in range(epochs):
        order = indices[
            torch.randperm(len(indices), generator=torch.Generator().manual_seed(epoch))
        ]
        start = time.perf_counter()
        for first in range(0, len(order), batch_size):
            batch = order[first : first + batch_size]
            if len(batch) < 2:
                continue
            raw, targets = data.inputs[batch].to(device), data.targets[batch].to(device)
            step_start = time.perf_counter()
            loss = F.cross_entropy(model(data.prepare(raw)), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            steps.append(time.perf_counter() - step_start)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    data = load_dataset("digits", image_size=args.image_size)
    generator = np.random.default_rng(0)
    order = generator.permutation(len(data.targets))
    splits = CellSplits(
        train=np.sort(order[:1293]), val=np.sort(order[1293:1437]), test=np.sort(order[1437:])
    )
    steps = len(splits.train) // args.batch_size + (len(splits.train) % args.batch_size > 1)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, digits "
        f"{args.image_size}x{args.image_size}, {len(splits.train)} training samples, "
        f"{steps} steps/epoch, {args.epochs} epochs x {args.rounds} rounds"
    )

    samples: dict[str, list[float]] = {"relu": [], "dsrelu": [], "bare": []}
    step_samples: dict[str, list[float]] = {"relu": [], "dsrelu": [], "bare": []}
    for round_index in range(args.rounds):
        order = ("relu", "dsrelu", "bare") if round_index % 2 == 0 else ("bare", "dsrelu", "relu")
        for name in order:
            if name == "bare":
                times, steps_taken = bare_times(data, splits.train, args.epochs, args.batch_size)
            else:
                times, steps_taken = harness_times(data, name, splits, args.epochs, args.batch_size)
            samples[name].extend(times[1:])  # the first epoch warms caches up
            step_samples[name].extend(steps_taken[steps:])
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in medians.items():
        spread = ", ".join(f"{v:.2f}" for v in samples[name])
        print(
            f"  {name:<7} median epoch {value:7.3f} s  ({value / steps * 1e3:6.1f} ms/step)"
            f"  epochs: {spread}"
        )
    step_medians = {name: statistics.median(values) for name, values in step_samples.items()}
    for name, value in step_medians.items():
        count = len(step_samples[name])
        print(f"  {name:<7} median step  {value * 1e3:7.1f} ms over {count} steps")
    for label, table in (("epoch medians", medians), ("step medians", step_medians)):
        ratio = table["dsrelu"] / table["relu"]
        verdict = "OK" if ratio <= 1.03 else "MISS"
        print(f"dsrelu / relu ({label}) = {ratio:.3f} (target <= 1.03): {verdict}")
    ratio = step_medians["relu"] / step_medians["bare"]
    verdict = "OK" if ratio <= 1.10 else "MISS"
    print(
        f"step time harness / bare PyTorch loop (step medians) = {ratio:.3f} "
        f"(target <= 1.10): {verdict}"
    )


if __name__ == "__main__":
    main()
