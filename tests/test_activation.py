"""DSReLU module and its slope schedule, checked against float64 math done here."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from dsrelu import (
    DEFAULT_A,
    DEFAULT_B,
    DEFAULT_K,
    DSReLU,
    replace_activations,
    set_progress,
    slope_at,
)

PAPER = (math.tan(math.radians(85)), math.tan(math.radians(10)), 5.0)
NOTEBOOK = (math.tan(math.radians(75)), math.tan(math.radians(30)), 5.0)


def reference_slope(t: float, a: float, b: float, k: float) -> float:
    return float(np.float64(a) + (np.float64(b) - a) / (1.0 + np.exp(-k * (np.float64(t) - 0.5))))


def test_defaults_are_the_papers_angles() -> None:
    assert (DEFAULT_A, DEFAULT_B, DEFAULT_K) == pytest.approx(PAPER, rel=1e-15)
    assert DEFAULT_A == pytest.approx(11.430052302761343)
    assert DEFAULT_B == pytest.approx(0.17632698070846498)


@pytest.mark.parametrize("params", [PAPER, NOTEBOOK], ids=["paper", "notebook"])
@pytest.mark.parametrize("t", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_slope_matches_float64_formula(params: tuple[float, float, float], t: float) -> None:
    a, b, k = params
    assert slope_at(t, a, b, k) == pytest.approx(reference_slope(t, a, b, k), rel=1e-14)
    module = DSReLU(a, b, k, progress=t)
    assert module.slope == pytest.approx(reference_slope(t, a, b, k), rel=1e-14)
    assert float(module.slope_tensor()) == pytest.approx(reference_slope(t, a, b, k), rel=1e-14)


def test_paper_default_slope_does_not_reach_its_ends() -> None:
    # By hand: s(0.5) is the midpoint of a and b; s(0) ~ 10.58 and s(1) ~ 1.03.
    assert slope_at(0.5) == pytest.approx((DEFAULT_A + DEFAULT_B) / 2, rel=1e-15)
    assert slope_at(0.0) == pytest.approx(10.576, abs=1e-3)
    assert slope_at(1.0) == pytest.approx(1.030, abs=1e-3)


def test_exact_ends_hits_a_and_b() -> None:
    a, b, k = NOTEBOOK
    assert slope_at(0.0, a, b, k, exact_ends=True) == pytest.approx(a, rel=1e-14)
    assert slope_at(1.0, a, b, k, exact_ends=True) == pytest.approx(b, rel=1e-14)
    assert slope_at(0.5, a, b, k, exact_ends=True) == pytest.approx((a + b) / 2, rel=1e-14)
    module = DSReLU(a, b, k, exact_ends=True, progress=1.0)
    assert float(module.slope_tensor()) == pytest.approx(b, rel=1e-14)


@pytest.mark.parametrize("t", [0.0, 0.3, 1.0])
def test_forward_is_slope_times_x_on_the_positive_side(t: float) -> None:
    module = DSReLU(progress=t)
    x = torch.linspace(-4, 4, 81, dtype=torch.float64)
    expected = np.where(x.numpy() > 0, x.numpy() * reference_slope(t, *PAPER), x.numpy())
    np.testing.assert_allclose(module(x).numpy(), expected, rtol=1e-15, atol=0)


def test_progress_is_a_float64_buffer_in_the_state_dict() -> None:
    module = DSReLU(progress=0.3)
    state = module.state_dict()
    assert list(state) == ["progress"]
    assert state["progress"].dtype == torch.float64
    assert float(state["progress"]) == 0.3


def test_checkpoint_round_trip_restores_progress_and_slope() -> None:
    model = nn.Sequential(nn.Linear(3, 3), DSReLU(), nn.Linear(3, 2), DSReLU())
    set_progress(model, 0.3)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    fresh = nn.Sequential(nn.Linear(3, 3), DSReLU(), nn.Linear(3, 2), DSReLU())
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    for module in (fresh[1], fresh[3]):
        assert float(module.progress) == 0.3
        assert module.slope == pytest.approx(reference_slope(0.3, *PAPER), rel=1e-14)
    x = torch.randn(4, 3)
    fresh.eval()
    model.eval()
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)


def test_progress_survives_dtype_casts() -> None:
    module = DSReLU(progress=0.3)
    module.half()
    assert module.progress.dtype == torch.float64
    assert float(module.progress) == 0.3
    module.to(torch.bfloat16)
    assert float(module.progress) == 0.3


def test_loading_an_invalid_progress_is_refused() -> None:
    module = DSReLU()
    with pytest.raises(ValueError, match=r"progress must be a finite number in \[0, 1\], got 2.0"):
        module.load_state_dict({"progress": torch.tensor(2.0, dtype=torch.float64)})
    assert float(module.progress) == 0.0


def test_extra_repr_shows_parameters_and_progress() -> None:
    text = repr(DSReLU(progress=0.25))
    assert text == "DSReLU(a=11.43, b=0.1763, k=5, progress=0.25)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"a": 0.0}, r"a must be a positive finite number, got 0.0"),
        ({"a": -1.0}, r"a must be a positive finite number, got -1.0"),
        ({"b": float("inf")}, r"b must be a positive finite number, got inf"),
        ({"b": float("nan")}, r"b must be a positive finite number, got nan"),
        ({"k": 0}, r"k must be a positive finite number, got 0"),
        ({"k": "steep"}, r"k must be a positive finite number, got 'steep'"),
        ({"progress": 1.5}, r"progress must be a finite number in \[0, 1\], got 1.5"),
        ({"progress": float("nan")}, r"progress must be a finite number in \[0, 1\], got nan"),
    ],
)
def test_invalid_parameters_raise(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DSReLU(**kwargs)


@pytest.mark.parametrize("bad", [-0.1, 1.0001, float("inf"), None])
def test_set_progress_validates(bad: object) -> None:
    module = DSReLU(progress=0.4)
    with pytest.raises(ValueError, match="progress must be a finite number in"):
        module.set_progress(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="progress must be a finite number in"):
        set_progress(nn.Sequential(module), bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="progress must be a finite number in"):
        slope_at(bad)  # type: ignore[arg-type]
    assert float(module.progress) == 0.4


def test_slope_at_validates_parameters() -> None:
    with pytest.raises(ValueError, match=r"k must be a positive finite number, got -5"):
        slope_at(0.5, k=-5)


def test_set_progress_reaches_every_instance_of_resnet34() -> None:
    model = torchvision.models.resnet34(num_classes=10)
    replace_activations(model, "dsrelu")
    assert set_progress(model, 0.7) == 17
    values = {float(m.progress) for m in model.modules() if isinstance(m, DSReLU)}
    assert values == {0.7}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_progress_moves_with_the_module_to_cuda() -> None:
    module = DSReLU(progress=0.3).cuda()
    assert module.progress.device.type == "cuda"
    x = torch.randn(1000, device="cuda")
    expected = torch.where(x > 0, x * module.slope, x)
    torch.testing.assert_close(module(x), expected, rtol=0, atol=0)


def test_changing_parameters_after_construction_changes_the_slope() -> None:
    module = DSReLU(progress=0.5)
    x = torch.tensor([2.0], dtype=torch.float64)
    assert module(x).item() == pytest.approx(2 * (DEFAULT_A + DEFAULT_B) / 2)
    module.k = 10.0
    module.set_progress(0.75)
    assert module(x).item() == pytest.approx(2 * reference_slope(0.75, DEFAULT_A, DEFAULT_B, 10.0))


def test_device_slope_cache_follows_in_place_progress_updates() -> None:
    # The non-CPU path caches the slope tensor on the buffer's version counter; check
    # the cache logic itself on CPU.
    module = DSReLU(progress=0.2)
    first = module._cached_slope_tensor()
    assert module._cached_slope_tensor() is first
    module.set_progress(0.9)
    second = module._cached_slope_tensor()
    assert float(second) == pytest.approx(reference_slope(0.9, *PAPER), rel=1e-14)
    module.load_state_dict({"progress": torch.tensor(0.4, dtype=torch.float64)})
    assert float(module._cached_slope_tensor()) == pytest.approx(
        reference_slope(0.4, *PAPER), rel=1e-14
    )
