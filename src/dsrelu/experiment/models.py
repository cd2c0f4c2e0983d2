"""The network under test: torchvision's ResNet-34 with a chosen activation."""

from __future__ import annotations

import torchvision
from torch import nn

from ..registry import ActivationSpec, replace_activations

__all__ = ["build_model"]


def build_model(
    activation: ActivationSpec, *, in_channels: int = 3, num_classes: int = 1000
) -> nn.Module:
    """Build torchvision's ResNet-34 with every ReLU replaced by ``activation``.

    Nothing else changes except what the data require: the stem convolution takes
    ``in_channels`` channels (same kernel, stride and initialisation as torchvision's)
    and the classifier has ``num_classes`` outputs. A 1-channel ``1 x 187`` heartbeat
    passes through the stem's padding unchanged in height.

    Args:
        activation: a registry name, a module class or a factory (see
            :func:`dsrelu.replace_activations`).
        in_channels: input channels. Default: ``3``.
        num_classes: classifier outputs. Default: ``1000``.

    Returns:
        A freshly initialised model (initialisation follows the global torch seed).

    Raises:
        ValueError: if ``activation`` is unknown or a count is not a positive integer.
    """
    for name, value in (("in_channels", in_channels), ("num_classes", num_classes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    model = torchvision.models.resnet34(weights=None, num_classes=num_classes)
    if in_channels != 3:
        stem = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(stem.weight, mode="fan_out", nonlinearity="relu")
        model.conv1 = stem
    replace_activations(model, activation)
    return model
