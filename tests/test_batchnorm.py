"""Precise BN: running statistics re-estimated with the current weights."""

from __future__ import annotations

import torch
from torch import nn

from dsrelu.experiment.batchnorm import recalibrate_batchnorm


def test_statistics_are_averages_over_the_batches() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    model = nn.Sequential(conv, nn.BatchNorm2d(3), nn.ReLU()).eval()
    norm = model[1]
    norm.running_mean.fill_(5.0)
    batches = [torch.randn(4, 2, 5, 5) * (i + 1) for i in range(3)]
    assert recalibrate_batchnorm(model, batches) == 3
    with torch.no_grad():
        outputs = [conv(batch).double() for batch in batches]
    means = torch.stack([out.mean(dim=(0, 2, 3)) for out in outputs])
    variances = torch.stack([out.var(dim=(0, 2, 3), unbiased=True) for out in outputs])
    torch.testing.assert_close(norm.running_mean.double(), means.mean(0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(norm.running_var.double(), variances.mean(0), rtol=1e-5, atol=1e-6)
    assert not model.training and not norm.training and norm.momentum == 0.1


def test_no_batches_leaves_statistics_alone() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    model[1].running_mean.fill_(3.0)
    assert recalibrate_batchnorm(model, []) == 0
    assert model[1].running_mean.tolist() == [3.0, 3.0]
