"""Tests for the embedded digits dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from dsrelu.data import load_dataset
from dsrelu.errors import ConfigError


def _bilinear_matrix(size_in: int, size_out: int) -> np.ndarray:
    """Rows of weights that resize a line bilinearly, half-pixel centres, edges clamped."""
    matrix = np.zeros((size_out, size_in))
    for row in range(size_out):
        source = max((row + 0.5) * size_in / size_out - 0.5, 0.0)
        low = int(np.floor(source))
        high = min(low + 1, size_in - 1)
        weight = source - low
        matrix[row, low] += 1.0 - weight
        matrix[row, high] += weight
    return matrix


def test_default_is_upsampled_to_32() -> None:
    bunch = load_digits()

    data = load_dataset("digits")

    assert data.name == "digits"
    assert data.inputs.shape == (1797, 1, 32, 32) and data.inputs.dtype == torch.float32
    assert data.targets.dtype == torch.int64
    assert torch.bincount(data.targets).tolist() == np.bincount(bunch.target).tolist()
    assert data.class_names == tuple(str(d) for d in range(10))
    assert (data.num_classes, data.in_channels, data.input_shape) == (10, 1, (1, 32, 32))
    assert 0.0 <= float(data.inputs.min()) and float(data.inputs.max()) <= 1.0
    weights = _bilinear_matrix(8, 32)
    for index in (0, 100, 1796):
        expected = weights @ (bunch.images[index] / 16.0) @ weights.T
        np.testing.assert_allclose(data.inputs[index, 0].numpy(), expected, atol=1e-6)
    values = data.inputs.double()
    assert data.mean[0] == pytest.approx(float(values.mean()), rel=1e-9)
    assert data.std[0] == pytest.approx(float(values.std(correction=0)), rel=1e-9)
    assert "32x32" in data.source


def test_native_size_keeps_the_pixels() -> None:
    bunch = load_digits()

    data = load_dataset("digits", image_size=8)

    expected = torch.tensor(bunch.images / 16.0, dtype=torch.float32).unsqueeze(1)
    assert torch.equal(data.inputs, expected)
    assert data.targets.tolist() == bunch.target.tolist()


def test_data_dir_is_not_needed_and_ignored() -> None:
    data = load_dataset("digits", "/this/path/does/not/exist")

    assert data is load_dataset("digits", image_size=32)


@pytest.mark.parametrize("image_size", [0, -4, 2.5, True, "32"])
def test_bad_image_size_is_a_config_error(image_size: object) -> None:
    with pytest.raises(ConfigError, match=r"digits: image_size must be a positive integer"):
        load_dataset("digits", image_size=image_size)  # type: ignore[arg-type]
