"""Re-estimating BatchNorm running statistics for the current weights ("precise BN").

BatchNorm's running statistics are an exponential average over past training steps.
When the network changes quickly relative to that average, for example while DSReLU's
slope falls over a budget of a few epochs, eval-mode outputs use statistics of earlier
weights, and the mismatch compounds over the layers. Recomputing the statistics with
the current weights on a few training batches removes it, for every activation alike.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["recalibrate_batchnorm"]


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Replace every BatchNorm's running statistics by their average over ``batches``.

    Each BatchNorm's running mean and variance are reset and re-estimated with a
    cumulative average (``momentum=None``): the running mean becomes the mean of the
    per-batch means, the running variance the mean of the per-batch unbiased variances.
    Weights are not changed; the model's train/eval flags and each module's momentum
    are restored afterwards.

    Args:
        model: the model; modules other than BatchNorm run as in training mode.
        batches: input batches (already on the model's device and prepared).

    Returns:
        The number of batches used (``0`` leaves the statistics as they were).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    iterator = iter(batches)
    first = next(iterator, None)
    if first is None or not norms:
        return 0
    modes = {module: module.training for module in model.modules()}
    momenta = {norm: norm.momentum for norm in norms}
    try:
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None
        model.train()
        count = 0
        for batch in (first, *iterator):
            model(batch)
            count += 1
        return count
    finally:
        for module, training in modes.items():
            module.training = training
        for norm, momentum in momenta.items():
            norm.momentum = momentum
