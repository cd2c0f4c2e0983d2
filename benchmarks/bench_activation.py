"""DSReLU speed, memory and graph-capture checks, measured side by side in one run.

Usage::

    python benchmarks/bench_activation.py [--repeats 31] [--skip-compile] [--skip-onnx]

Reports, each as a ratio against a baseline measured in the same process:

1. forward+backward time on a (32, 64, 56, 56) float32 CPU tensor (medians of
   interleaved repeats) against ``nn.LeakyReLU``; target at most 1.10;
2. bytes autograd saves for backward in one ResNet-34 forward (batch 32, 3x32x32),
   unique storages, against torchvision's ``nn.ReLU(inplace=True)``; target at most 1.00;
3. ``torch.compile`` (inductor) of ResNet-34 with DSReLU in float64: graphs compiled
   while progress changes (target 1) and the largest difference from eager relative to
   the largest eager output (target 1e-6);
4. ONNX export (opset 18) evaluated in onnxruntime against eager, relative the same way.

In eval mode with fresh BatchNorm statistics, 33 DSReLU calls with slopes near 10 give
ResNet-34 logits of about 1e23, so differences are reported relative to the output.

``released`` is a re-implementation of the approach of the paper's released code:
``torch.where`` on a scalar tensor built in every forward.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from torch import nn

from dsrelu import DSReLU, replace_activations, set_progress, slope_at


class ReleasedStyleDSReLU(nn.Module):
    """The released code's approach, for reference: a new scalar tensor every call."""

    def __init__(self) -> None:
        super().__init__()
        self.progress = 0.3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        slope = torch.tensor(slope_at(self.progress), dtype=x.dtype, device=x.device)
        return torch.where(x > 0, slope * x, x)


def time_forward_backward(activations: dict[str, nn.Module], repeats: int) -> dict[str, float]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(32, 64, 56, 56, generator=generator).requires_grad_()
    grad = torch.randn(32, 64, 56, 56, generator=generator)
    samples: dict[str, list[float]] = {name: [] for name in activations}
    for round_index in range(repeats + 3):
        for name, module in activations.items():
            start = time.perf_counter()
            module(x).backward(grad)
            elapsed = time.perf_counter() - start
            x.grad = None
            if round_index >= 3:
                samples[name].append(elapsed)
    return {name: statistics.median(values) for name, values in samples.items()}


def saved_bytes(model: nn.Module, x: torch.Tensor) -> int:
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(x)
    return sum(storages.values())


def resnet_with(make: Callable[[], nn.Module] | None) -> nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.resnet34(num_classes=100)
    if make is not None:
        replace_activations(model, make)
    return model.train()


def memory_table() -> dict[str, int]:
    x = torch.randn(32, 3, 32, 32)
    makers: dict[str, Callable[[], nn.Module] | None] = {
        "relu_inplace": None,
        "dsrelu": DSReLU,
        "leaky_relu": lambda: nn.LeakyReLU(0.01),
        "mish": nn.Mish,
        "released": ReleasedStyleDSReLU,
    }
    return {name: saved_bytes(resnet_with(make), x) for name, make in makers.items()}


def compile_check() -> tuple[int, float]:
    torch._dynamo.reset()
    torch._logging.set_logs(recompiles=True)
    graphs = 0

    def counting_inductor(graph_module: torch.fx.GraphModule, inputs: list) -> Callable:
        nonlocal graphs
        graphs += 1
        from torch._inductor.compile_fx import compile_fx

        return compile_fx(graph_module, inputs)

    # float64, so that the comparison tests the function rather than float32 rounding
    # (inductor reorders float32 sums, which moves ResNet-34 outputs by a few 1e-6).
    model = resnet_with(DSReLU).eval().double()
    compiled = torch.compile(model, backend=counting_inductor)
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    worst = 0.0
    with torch.no_grad():
        for progress in (0.0, 0.25, 0.5, 0.75, 1.0):
            set_progress(model, progress)
            expected = model(x)
            difference = (compiled(x) - expected).abs().max() / expected.abs().max()
            worst = max(worst, difference.item())
    return graphs, worst


def onnx_check() -> float:
    import numpy as np
    import onnxruntime

    model = resnet_with(DSReLU).eval()
    set_progress(model, 0.37)
    x = torch.randn(4, 3, 32, 32)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "resnet34_dsrelu.onnx"
        torch.onnx.export(model, (x,), str(path), opset_version=18, dynamo=True)
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expected = model(x).numpy()
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--skip-compile", action="store_true")
    parser.add_argument("--skip-onnx", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    dsrelu_module = DSReLU(progress=0.3)
    times = time_forward_backward(
        {
            "leaky_relu": nn.LeakyReLU(0.01),
            "relu": nn.ReLU(),
            "dsrelu": dsrelu_module,
            "released": ReleasedStyleDSReLU(),
        },
        args.repeats,
    )
    print("\nforward+backward, (32, 64, 56, 56) float32, median ms and ratio to leaky_relu")
    for name, seconds in times.items():
        print(f"  {name:<12} {seconds * 1e3:8.2f} ms  {seconds / times['leaky_relu']:6.2f}x")
    ratio = times["dsrelu"] / times["leaky_relu"]
    print(
        f"  dsrelu / leaky_relu = {ratio:.3f} (target <= 1.10): {'OK' if ratio <= 1.10 else 'MISS'}"
    )

    memory = memory_table()
    base = memory["relu_inplace"]
    print("\nbytes saved for backward, ResNet-34 forward, batch 32, 3x32x32")
    for name, count in memory.items():
        print(f"  {name:<12} {count / 2**20:8.2f} MiB  {count / base:6.3f}x")
    verdict = "OK" if memory["dsrelu"] <= base else "MISS"
    print(f"  dsrelu / relu_inplace = {memory['dsrelu'] / base:.3f} (target <= 1.00): {verdict}")

    if not args.skip_compile:
        graphs, worst = compile_check()
        verdict = "OK" if graphs == 1 and worst <= 1e-6 else "MISS"
        print(
            f"\ntorch.compile (inductor, float64), 5 progress values: {graphs} graph(s) compiled, "
            f"max |compiled - eager| / max |eager| = {worst:.2e}: {verdict}"
        )
    if not args.skip_onnx:
        worst = onnx_check()
        verdict = "OK" if worst <= 1e-5 else "MISS"
        print(
            "\nONNX (opset 18) in onnxruntime vs eager: "
            f"max |diff| / max |eager| = {worst:.2e}: {verdict}"
        )


if __name__ == "__main__":
    main()
