"""The loaded-dataset record every loader returns, and helpers the loaders share.

A loader turns files on disk into one :class:`LoadedDataset`: all samples of the
dataset in a single tensor, integer class targets, the class names and the per-channel
statistics used to normalise batches. Splits that a distribution ships separately
(train/test, or Mini-ImageNet's class-disjoint train/val/test) are merged, because
the experiment draws its own stratified folds.

8-bit images stay ``uint8`` in memory (a quarter of the float32 size); they are
converted batch by batch with :meth:`LoadedDataset.prepare`, on whatever device the
batch lives on.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError

__all__ = ["LoadedDataset", "as_path", "channel_stats", "check_image_size", "resize_images"]

log = logging.getLogger(__name__)

# Images handled at once when statistics are computed or images resized; bounds the
# temporary float memory to a few hundred MB even for 84x84 colour images.
_CHUNK_IMAGES = 2048


@dataclass(frozen=True, eq=False, repr=False)
class LoadedDataset:
    """One dataset in memory: inputs, targets and what a model needs to know about them.

    Args:
        name: Registry name, e.g. ``"mitbih"``.
        inputs: All samples, shape ``(N, C, H, W)``; ``uint8`` for 8-bit images
            (``cifar100``, ``mini-imagenet``), ``float32`` otherwise.
        targets: Class index of every sample, shape ``(N,)``, ``int64``, values
            ``0 .. num_classes - 1``.
        class_names: Name of every class, in index order.
        mean: Per-channel mean on the [0, 1] scale (``uint8`` inputs divided by 255).
        std: Per-channel standard deviation on the same scale.
        source: Where the data were read from and how (merged splits, resizing).

    Raises:
        ValueError: If the fields do not fit together (shapes, dtypes, lengths).

    .. note::
        Instances are cached and shared by :func:`dsrelu.data.load_dataset`; treat
        ``inputs`` and ``targets`` as read-only (index them, never write into them).

    Examples:
        >>> data = LoadedDataset(
        ...     name="toy",
        ...     inputs=torch.zeros(4, 1, 2, 2),
        ...     targets=torch.tensor([0, 1, 0, 1]),
        ...     class_names=("a", "b"),
        ...     mean=(0.5,),
        ...     std=(0.25,),
        ...     source="made up",
        ... )
        >>> data.num_classes, data.in_channels, data.input_shape
        (2, 1, (1, 2, 2))
        >>> data.prepare(data.inputs[:1]).flatten().tolist()
        [-2.0, -2.0, -2.0, -2.0]
    """

    name: str
    inputs: torch.Tensor
    targets: torch.Tensor
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: str

    def __post_init__(self) -> None:
        if self.inputs.dim() != 4:
            raise ValueError(
                f"inputs must have shape (N, C, H, W), got shape {tuple(self.inputs.shape)}"
            )
        if self.inputs.dtype not in (torch.uint8, torch.float32):
            raise ValueError(f"inputs must be uint8 or float32, got {self.inputs.dtype}")
        if self.targets.dtype != torch.int64 or self.targets.dim() != 1:
            raise ValueError(
                f"targets must be a 1-d int64 tensor, got {self.targets.dtype} "
                f"with shape {tuple(self.targets.shape)}"
            )
        if len(self.targets) != len(self.inputs):
            raise ValueError(
                f"inputs and targets differ in length: {len(self.inputs)} != {len(self.targets)}"
            )
        channels = self.inputs.shape[1]
        if len(self.mean) != channels or len(self.std) != channels:
            raise ValueError(
                f"mean and std need one value per channel ({channels}), "
                f"got mean={self.mean!r}, std={self.std!r}"
            )
        if any(not (math.isfinite(s) and s > 0) for s in self.std):
            raise ValueError(f"std must be positive and finite, got {self.std!r}")
        if len(self.targets) and (
            int(self.targets.min()) < 0 or int(self.targets.max()) >= len(self.class_names)
        ):
            raise ValueError(
                f"targets must lie in 0..{len(self.class_names) - 1}, got values "
                f"{int(self.targets.min())}..{int(self.targets.max())}"
            )

    @property
    def num_classes(self) -> int:
        """Number of classes (the length of :attr:`class_names`)."""
        return len(self.class_names)

    @property
    def in_channels(self) -> int:
        """Number of input channels ``C``."""
        return int(self.inputs.shape[1])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one sample, ``(C, H, W)``."""
        channels, height, width = self.inputs.shape[1:]
        return int(channels), int(height), int(width)

    def __len__(self) -> int:
        return len(self.targets)

    def __repr__(self) -> str:
        dtype = str(self.inputs.dtype).removeprefix("torch.")
        return (
            f"{type(self).__name__}(name={self.name!r}, inputs={dtype}{tuple(self.inputs.shape)}, "
            f"num_classes={self.num_classes}, source={self.source!r})"
        )

    def prepare(self, batch: torch.Tensor) -> torch.Tensor:
        """Turn a batch of stored inputs into normalised float32 model inputs.

        ``uint8`` batches are scaled to [0, 1] first; then every channel is shifted by
        :attr:`mean` and divided by :attr:`std`. Works on any device; the result lives
        on the batch's device.

        Args:
            batch: Samples of shape ``(N, C, H, W)`` or one sample ``(C, H, W)``.

        Returns:
            A new float32 tensor of the same shape.

        Raises:
            ValueError: If the channel dimension does not match :attr:`in_channels`.
        """
        if batch.dim() < 3 or batch.shape[-3] != self.in_channels:
            raise ValueError(
                f"batch must have shape (N, {self.in_channels}, H, W) or "
                f"({self.in_channels}, H, W), got {tuple(batch.shape)}"
            )
        if batch.dtype == torch.uint8:
            out = batch.to(torch.float32).div_(255.0)
        else:
            out = batch.to(torch.float32, copy=True)
        if any(m != 0.0 for m in self.mean) or any(s != 1.0 for s in self.std):
            mean = torch.tensor(self.mean, dtype=torch.float32, device=out.device)
            std = torch.tensor(self.std, dtype=torch.float32, device=out.device)
            out.sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))
        return out


def channel_stats(inputs: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) standard deviation on the [0, 1] scale.

    ``uint8`` inputs are counted exactly with histograms and divided by 255; float
    inputs are summed in float64. Either way the work is done in chunks, so no full
    float copy of the data is ever made. A channel whose standard deviation is zero
    gets 1.0, so that normalising never divides by zero.

    Args:
        inputs: Samples of shape ``(N, C, H, W)``, ``uint8`` or floating point.

    Returns:
        ``(mean, std)``, each a tuple with one float per channel.

    Raises:
        ValueError: If ``inputs`` is empty.
    """
    if inputs.numel() == 0:
        raise ValueError(f"cannot compute statistics of empty inputs {tuple(inputs.shape)}")
    channels = inputs.shape[1]
    if inputs.dtype == torch.uint8:
        pixels = inputs.detach().cpu().numpy()
        histogram = np.zeros((channels, 256), dtype=np.int64)
        for start in range(0, len(pixels), _CHUNK_IMAGES):
            chunk = pixels[start : start + _CHUNK_IMAGES]
            for channel in range(channels):
                histogram[channel] += np.bincount(chunk[:, channel].ravel(), minlength=256)
        counts = torch.from_numpy(histogram)
        levels = torch.arange(256, dtype=torch.float64) / 255.0
        totals = counts.sum(dim=1).to(torch.float64)
        mean = (counts.to(torch.float64) * levels).sum(dim=1) / totals
        second = (counts.to(torch.float64) * levels.square()).sum(dim=1) / totals
    else:
        sums = torch.zeros(channels, dtype=torch.float64)
        squares = torch.zeros(channels, dtype=torch.float64)
        for start in range(0, len(inputs), _CHUNK_IMAGES):
            chunk = inputs[start : start + _CHUNK_IMAGES].to(torch.float64)
            sums += chunk.sum(dim=(0, 2, 3))
            squares += chunk.square().sum(dim=(0, 2, 3))
        per_channel = inputs.numel() / channels
        mean = sums / per_channel
        second = squares / per_channel
    std = (second - mean.square()).clamp_min(0.0).sqrt()
    std = torch.where(std > 0, std, torch.ones_like(std))
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


def check_image_size(image_size: int | None, *, name: str) -> int | None:
    """Validate an ``image_size`` setting.

    Args:
        image_size: Side length in pixels, or ``None`` for the dataset's default.
        name: Dataset name, used in the error message.

    Returns:
        ``image_size`` unchanged.

    Raises:
        ConfigError: If ``image_size`` is not ``None`` and not a positive integer.
    """
    if image_size is None:
        return None
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ConfigError(
            f"{name}: image_size must be a positive integer (pixels), got {image_size!r}"
        )
    return image_size


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(N, C, H, W)`` images to ``size`` x ``size`` with antialiased bilinear filtering.

    ``uint8`` images come back as ``uint8`` (rounded), float images as float32. Works
    in chunks so that only a few thousand images are in float at once.

    Args:
        images: The images.
        size: Output height and width in pixels.

    Returns:
        A new tensor of shape ``(N, C, size, size)``, or ``images`` itself when it
        already has that size.
    """
    if tuple(images.shape[2:]) == (size, size):
        return images
    out = torch.empty((len(images), images.shape[1], size, size), dtype=images.dtype)
    for start in range(0, len(images), _CHUNK_IMAGES):
        chunk = images[start : start + _CHUNK_IMAGES].to(torch.float32)
        resized = F.interpolate(
            chunk, size=(size, size), mode="bilinear", align_corners=False, antialias=True
        )
        if images.dtype == torch.uint8:
            resized = resized.round_().clamp_(0, 255)
        out[start : start + len(chunk)] = resized.to(images.dtype)
    return out


def as_path(data_dir: str | os.PathLike[str]) -> Path:
    """``data_dir`` as an absolute, user-expanded :class:`~pathlib.Path`."""
    return Path(data_dir).expanduser().resolve()
