"""dsrelu.functional.dsrelu: values, gradients and memory, on both code paths."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch

from dsrelu import _kernel
from dsrelu.functional import dsrelu

SLOPE = 5.803189641734907


@pytest.fixture(params=["kernel", "torch"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the fused CPU kernel and with the composed PyTorch expression."""
    if request.param == "kernel":
        if _kernel.load() is None:
            pytest.skip("no C compiler: the fused kernel is unavailable here")
    else:
        monkeypatch.setattr(_kernel, "load", lambda: None)
    return request.param


def sample(dtype: torch.dtype, n: int = 100_003) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, generator=generator, dtype=torch.float64) * 10
    x[:4] = torch.tensor([0.0, -0.0, 1e-30, -1e-30])
    return x.to(dtype)


def test_float32_forward_is_the_correctly_rounded_product(path: str) -> None:
    x = sample(torch.float32)
    y = dsrelu(x, SLOPE)
    # A float32 x float32 product is exact in float64; one rounding gives the answer.
    s32 = np.float64(np.float32(SLOPE))
    xs = x.numpy().astype(np.float64)
    expected = np.where(xs > 0, xs * s32, xs).astype(np.float32)
    assert np.array_equal(y.numpy(), expected)
    assert np.array_equal(np.signbit(y.numpy()[:2]), [False, True])  # +0 and -0 kept


def test_float64_forward_matches_numpy(path: str) -> None:
    x = sample(torch.float64)
    expected = np.where(x.numpy() > 0, x.numpy() * SLOPE, x.numpy())
    assert np.array_equal(dsrelu(x, SLOPE).numpy(), expected)


@pytest.mark.parametrize(("dtype", "rtol"), [(torch.bfloat16, 2**-8), (torch.float16, 2**-11)])
def test_half_precision_forward(path: str, dtype: torch.dtype, rtol: float) -> None:
    x = sample(dtype, 4096)
    y = dsrelu(x, SLOPE)
    assert y.dtype == dtype
    xs = x.double().numpy()
    negative = xs <= 0
    assert np.array_equal(y.double().numpy()[negative], xs[negative])
    np.testing.assert_allclose(y.double().numpy()[~negative], xs[~negative] * SLOPE, rtol=rtol)


def test_gradcheck_away_from_zero(path: str) -> None:
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(64, generator=generator, dtype=torch.float64) + 0.1
    x = (x * torch.tensor([1.0, -1.0]).repeat(32)).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: dsrelu(v, 2.5), (x,))


def test_gradient_is_slope_on_positive_and_one_elsewhere(path: str) -> None:
    x = torch.tensor([-3.0, -0.0, 0.0, 1e-30, 2.0], requires_grad=True)
    dsrelu(x, SLOPE).backward(torch.ones(5))
    s32 = float(np.float32(SLOPE))
    assert x.grad.tolist() == [1.0, 1.0, 1.0, s32, s32]


def test_huge_inputs_give_no_nan(path: str) -> None:
    x = torch.tensor([-3e38, -1e30, 1e30, 1e38], requires_grad=True)
    y = dsrelu(x, 10.0)
    y.backward(torch.ones(4))
    assert y[:3].isfinite().all() and y[3] == float("inf")
    assert not y.isnan().any()
    assert x.grad.tolist() == [1.0, 1.0, 10.0, 10.0]


def test_inplace_overwrites_and_still_differentiates(path: str) -> None:
    leaf = torch.randn(257, requires_grad=True)
    x = leaf * 1.0
    y = dsrelu(x, 3.0, inplace=True)
    assert y.data_ptr() == x.data_ptr()
    y.sum().backward()
    expected = torch.where(leaf.detach() * 1.0 > 0, 3.0, 1.0)
    torch.testing.assert_close(leaf.grad, expected, rtol=0, atol=0)


def test_inplace_without_grad_writes_into_input(path: str) -> None:
    x = torch.tensor([-1.0, 2.0])
    out = dsrelu(x, 4.0, inplace=True)
    assert out is x and x.tolist() == [-1.0, 8.0]


@pytest.mark.parametrize("layout", ["transposed", "channels_last", "sliced"])
def test_non_contiguous_layouts(path: str, layout: str) -> None:
    base = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    if layout == "transposed":
        x = base.transpose(1, 3)
    elif layout == "channels_last":
        x = base.contiguous(memory_format=torch.channels_last)
    else:
        x = base[:, :, ::2]
    x = x.detach().requires_grad_()
    y = dsrelu(x, 2.0)
    xs = x.detach().numpy()
    np.testing.assert_array_equal(y.detach().numpy(), np.where(xs > 0, 2 * xs, xs))
    grad = torch.randn_like(y)
    y.backward(grad)
    expected = np.where(xs > 0, 2 * grad.numpy(), grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_backward_saves_only_the_output(path: str) -> None:
    saved: list[torch.Tensor] = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        saved.append(tensor)
        return tensor

    x = torch.randn(1000, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = dsrelu(x, 2.0)
    assert len(saved) == 1
    assert saved[0].untyped_storage().data_ptr() == y.untyped_storage().data_ptr()


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_invalid_slope_raises(bad: float) -> None:
    with pytest.raises(ValueError, match="slope must be a positive finite number"):
        dsrelu(torch.ones(2), bad)


def test_tensor_slope_matches_number_slope() -> None:
    x = sample(torch.float32, 1000)
    expected = dsrelu(x, SLOPE)
    torch.testing.assert_close(dsrelu(x, torch.tensor(SLOPE, dtype=torch.float64)), expected)


@pytest.mark.skipif(
    shutil.which(os.environ.get("CC", "cc")) is None, reason="no C compiler on this machine"
)
def test_kernel_builds_where_a_compiler_exists() -> None:
    assert _kernel.load() is not None


def test_kernel_can_be_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSRELU_DISABLE_KERNEL", "1")
    assert _kernel.load.__wrapped__() is None


def test_double_backward_is_refused_clearly() -> None:
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = dsrelu(x, 2.0)
    with pytest.raises(RuntimeError, match="DSReLU does not support double backward"):
        torch.autograd.grad(y.sum(), x, create_graph=True)
