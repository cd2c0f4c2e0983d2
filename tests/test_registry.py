"""Activation registry and replace_activations."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from dsrelu import DSReLU, available_activations, get_activation, replace_activations

EXPECTED_TYPES = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "mish": nn.Mish,
    "dsrelu": DSReLU,
    "prelu": nn.PReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def test_registry_has_the_papers_six_and_more_variants() -> None:
    assert set(EXPECTED_TYPES) <= set(available_activations())


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_get_activation_builds_a_fresh_module(name: str) -> None:
    first, second = get_activation(name), get_activation(name)
    assert type(first) is EXPECTED_TYPES[name]
    assert first is not second


def test_leaky_relu_uses_the_papers_slope() -> None:
    assert get_activation("leaky_relu").negative_slope == 0.01
    assert get_activation("Leaky-ReLU").negative_slope == 0.01


def test_get_activation_passes_keyword_arguments() -> None:
    assert get_activation("dsrelu", k=10.0).k == 10.0


@pytest.mark.parametrize("name", ["swish2", "", "ReLU6"])
def test_unknown_name_lists_valid_names(name: str) -> None:
    with pytest.raises(ValueError, match=rf"unknown activation {name!r}; valid names: relu, "):
        get_activation(name)


def count_calls(model: nn.Module, kind: type[nn.Module]) -> int:
    calls = 0

    def hook(*_: object) -> None:
        nonlocal calls
        calls += 1

    for module in model.modules():
        if isinstance(module, kind):
            module.register_forward_hook(hook)
    model(torch.randn(1, 3, 32, 32))
    return calls


def test_resnet34_replacement_counts() -> None:
    model = torchvision.models.resnet34(num_classes=10).eval()
    # Independent count: 1 stem ReLU + one per BasicBlock (3 + 4 + 6 + 3 = 16).
    assert sum(isinstance(m, nn.ReLU) for m in model.modules()) == 1 + 16
    relu_calls = count_calls(model, nn.ReLU)
    assert relu_calls == 1 + 2 * 16
    assert replace_activations(model, "dsrelu") == 17
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())
    instances = [m for m in model.modules() if isinstance(m, DSReLU)]
    assert len({id(m) for m in instances}) == 17
    assert count_calls(model, DSReLU) == relu_calls


def test_replace_with_class_factory_and_custom_target() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Sequential(nn.ReLU(), nn.Tanh()))
    assert replace_activations(net, nn.GELU, target=(nn.Tanh,)) == 2
    assert isinstance(net[1], nn.GELU) and isinstance(net[2][1], nn.GELU)
    assert net[1] is not net[2][1]
    assert replace_activations(net, lambda: DSReLU(k=2.0)) == 1
    assert isinstance(net[2][0], DSReLU) and net[2][0].k == 2.0


def test_replace_refuses_a_shared_instance() -> None:
    net = nn.Sequential(nn.ReLU())
    with pytest.raises(ValueError, match="not a module instance"):
        replace_activations(net, DSReLU())  # type: ignore[arg-type]
    assert isinstance(net[0], nn.ReLU)


def test_replace_with_unknown_name_changes_nothing() -> None:
    net = nn.Sequential(nn.ReLU())
    with pytest.raises(ValueError, match="unknown activation 'nope'"):
        replace_activations(net, "nope")
    assert isinstance(net[0], nn.ReLU)


def test_replace_refuses_non_callable() -> None:
    with pytest.raises(ValueError, match="activation must be a name, a module class or a factory"):
        replace_activations(nn.Sequential(nn.ReLU()), 3)  # type: ignore[arg-type]
