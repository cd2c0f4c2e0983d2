"""Activations by name, and swapping them into existing models."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from torch import nn

from .activation import DSReLU

__all__ = ["available_activations", "get_activation", "replace_activations"]

_ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": functools.partial(nn.LeakyReLU, 0.01),
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

#: The six activations the paper compares, in its order.
PAPER_ACTIVATIONS: tuple[str, ...] = ("relu", "leaky_relu", "sigmoid", "tanh", "mish", "dsrelu")


def available_activations() -> list[str]:
    """The names :func:`get_activation` accepts, in registry order."""
    return list(_ACTIVATIONS)


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def get_activation(name: str, **kwargs: Any) -> nn.Module:
    """Build a fresh activation module by name.

    Args:
        name: one of :func:`available_activations` (case-insensitive, ``-`` or ``_``).
        **kwargs: passed to the module's constructor (e.g. ``k=10`` for ``dsrelu``).

    Returns:
        A new module instance.

    Raises:
        ValueError: if ``name`` is unknown; the message lists the valid names.

    Examples:
        >>> get_activation("leaky_relu")
        LeakyReLU(negative_slope=0.01)
    """
    if not isinstance(name, str) or _normalise(name) not in _ACTIVATIONS:
        valid = ", ".join(_ACTIVATIONS)
        raise ValueError(f"unknown activation {name!r}; valid names: {valid}")
    return _ACTIVATIONS[_normalise(name)](**kwargs)


ActivationSpec = str | type[nn.Module] | Callable[[], nn.Module]


def _factory(activation: ActivationSpec) -> Callable[[], nn.Module]:
    if isinstance(activation, str):
        get_activation(activation)  # validate the name once, before touching the model
        return functools.partial(get_activation, activation)
    if isinstance(activation, nn.Module):
        raise ValueError(
            "activation must be a name, a module class or a factory, not a module instance "
            f"(each replaced module needs its own instance), got {activation!r}"
        )
    if not callable(activation):
        raise ValueError(
            f"activation must be a name, a module class or a factory, got {activation!r}"
        )
    return activation


def replace_activations(
    model: nn.Module,
    activation: ActivationSpec,
    target: tuple[type[nn.Module], ...] = (nn.ReLU,),
) -> int:
    """Replace, in place, every submodule of a ``target`` type by a fresh activation.

    Every replaced module gets its own new instance, so one that was called twice in
    the forward pass (torchvision's ``BasicBlock``) stays one module called twice.

    Args:
        model: the model to change; nested submodules are searched too.
        activation: a registry name (``"dsrelu"``), a module class, or a zero-argument
            factory returning a new module.
        target: the module types to replace. Default: ``(nn.ReLU,)``.

    Returns:
        How many modules were replaced.

    Raises:
        ValueError: if ``activation`` is an unknown name, a module instance, or not
            callable; or if ``model`` itself is a ``target`` (it cannot replace itself).

    Examples:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Sequential(nn.ReLU()))
        >>> replace_activations(net, "tanh")
        2
    """
    make = _factory(activation)
    if isinstance(model, target):
        raise ValueError(f"model is itself a {type(model).__name__}; replace it directly")
    replaced = 0
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, target):
                setattr(parent, child_name, make())
                replaced += 1
    return replaced
