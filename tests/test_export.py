"""Graph capture: torch.compile without per-progress recompiles, and ONNX export."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from torch import nn

from dsrelu import DSReLU, set_progress


def small_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), DSReLU(), nn.Flatten(), nn.Linear(64, 3)
    ).eval()


def test_compile_does_not_recompile_when_progress_changes() -> None:
    torch._dynamo.reset()
    graphs = 0

    def counting_backend(graph_module: torch.fx.GraphModule, example_inputs: list) -> object:
        nonlocal graphs
        graphs += 1
        return graph_module.forward

    model = small_model()
    compiled = torch.compile(model, backend=counting_backend)
    x = torch.randn(2, 1, 4, 4)
    for progress in (0.0, 0.2, 0.55, 0.9, 1.0):
        set_progress(model, progress)
        torch.testing.assert_close(compiled(x), model(x), rtol=0, atol=1e-6)
    assert graphs == 1


def test_compiled_training_step_matches_eager() -> None:
    torch._dynamo.reset()
    model = small_model().train()
    set_progress(model, 0.3)
    compiled = torch.compile(model, backend="aot_eager")
    x = torch.randn(5, 1, 4, 4)
    compiled(x).sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model(x).sum().backward()
    for compiled_grad, param in zip(grads, model.parameters(), strict=True):
        torch.testing.assert_close(compiled_grad, param.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None,
    reason="onnx and onnxruntime are not installed (pip install dsrelu[onnx])",
)
@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_onnx_export_evaluates_like_eager(tmp_path, dynamo: bool) -> None:
    import onnxruntime

    model = small_model()
    set_progress(model, 0.37)
    x = torch.randn(3, 1, 4, 4)
    path = tmp_path / "model.onnx"
    torch.onnx.export(model, (x,), str(path), opset_version=18, dynamo=dynamo)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # The exported slope is the one at progress 0.37, not another.
    set_progress(model, 0.9)
    with torch.no_grad():
        assert not np.allclose(got, model(x).numpy(), rtol=1e-3)
