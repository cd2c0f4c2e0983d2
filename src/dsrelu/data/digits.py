"""The embedded default dataset: scikit-learn's 8x8 handwritten digits.

scikit-learn ships 1,797 real 8x8 greyscale images of the digits 0-9 (the UCI
"optical recognition of handwritten digits" test set), with pixel values 0-16. They
need no download, so ``dsrelu run`` works out of the box.

Size choice: ResNet-34's stem (a stride-2 convolution and a stride-2 max-pool) shrinks
an 8x8 image to 2x2 before the first residual stage, so by default the images are
upsampled to 32x32, the CIFAR size, with bilinear interpolation
(``align_corners=False``). Bilinear keeps the values inside [0, 1] and gives smooth
strokes instead of 4x4 blocks. ``image_size=8`` keeps the native resolution.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F

from .base import LoadedDataset, channel_stats, check_image_size

__all__ = ["DEFAULT_IMAGE_SIZE", "DESCRIPTION", "NATIVE_SIZE", "load_digits_dataset"]

log = logging.getLogger(__name__)

#: Side length the 8x8 images are upsampled to unless told otherwise.
DEFAULT_IMAGE_SIZE = 32
#: Side length of the images as scikit-learn ships them.
NATIVE_SIZE = 8
#: One line for ``dsrelu datasets``.
DESCRIPTION = "scikit-learn's 1,797 real 8x8 handwritten digits, 10 classes (embedded default)"

_MAX_PIXEL = 16.0


def load_digits_dataset(*, image_size: int | None = None) -> LoadedDataset:
    """Load scikit-learn's digits as a 1-channel image dataset.

    Pixel values 0-16 are scaled to [0, 1]; the images are then resized to
    ``image_size`` x ``image_size`` with bilinear interpolation (upsampling) or
    antialiased bilinear filtering (downsampling). Mean and standard deviation are
    computed from the resized images.

    Args:
        image_size: Output side length in pixels. Default: ``32``
            (:data:`DEFAULT_IMAGE_SIZE`); ``8`` keeps the native size.

    Returns:
        A :class:`~dsrelu.data.base.LoadedDataset` with float32 inputs of shape
        ``(1797, 1, image_size, image_size)`` and classes ``"0"`` .. ``"9"``.

    Raises:
        ConfigError: If ``image_size`` is not a positive integer.
    """
    from sklearn.datasets import load_digits

    size = check_image_size(image_size, name="digits") or DEFAULT_IMAGE_SIZE
    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).div_(_MAX_PIXEL).unsqueeze(1)
    targets = torch.as_tensor(bunch.target, dtype=torch.int64)
    if size != NATIVE_SIZE:
        images = F.interpolate(
            images,
            size=(size, size),
            mode="bilinear",
            align_corners=False,
            antialias=size < NATIVE_SIZE,
        ).clamp_(0.0, 1.0)
    mean, std = channel_stats(images)
    class_names = tuple(str(label) for label in bunch.target_names)
    resized = (
        "native 8x8" if size == NATIVE_SIZE else f"resized bilinearly from 8x8 to {size}x{size}"
    )
    source = (
        f"scikit-learn load_digits: {len(images)} images, pixel values 0-16 scaled to [0, 1], "
        f"{resized}"
    )
    log.info("digits: %s", source)
    return LoadedDataset(
        name="digits",
        inputs=images.contiguous(),
        targets=targets,
        class_names=class_names,
        mean=mean,
        std=std,
        source=source,
    )
