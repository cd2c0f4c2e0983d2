"""The optional fused CPU kernel behind :func:`dsrelu.functional.dsrelu`.

PyTorch has no single built-in operation for ``x > 0 ? s * x : x``; composing one from
``where``/``mul``/``gt`` costs several passes over memory. ``_kernel.c`` does each
direction in one pass. It is plain C (no PyTorch headers), compiled on first use with
the system C compiler into a per-user cache and loaded with :mod:`ctypes`.

Where no compiler is available, the build fails, or ``DSRELU_DISABLE_KERNEL=1`` is set,
:func:`load` returns ``None`` and callers use the composed PyTorch expression, which
gives the same values, more slowly.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

__all__ = ["CpuKernel", "load"]

log = logging.getLogger(__name__)

_SOURCE = Path(__file__).with_name("_kernel.c")
_FLAGS = ("-O3", "-fno-trapping-math", "-fopenmp", "-fPIC", "-shared")


class CpuKernel:
    """Typed entry points of the compiled library for float32 and float64 tensors."""

    dtypes = (torch.float32, torch.float64)

    def __init__(self, library: ctypes.CDLL) -> None:
        self._functions = {}
        for dtype, suffix in ((torch.float32, "f32"), (torch.float64, "f64")):
            forward = getattr(library, f"dsrelu_forward_{suffix}")
            backward = getattr(library, f"dsrelu_backward_{suffix}")
            forward.argtypes = [
                ctypes.c_void_p,
                ctypes.c_void_p,
                ctypes.c_int64,
                ctypes.c_double,
                ctypes.c_int,
            ]
            backward.argtypes = [
                ctypes.c_void_p,
                ctypes.c_void_p,
                ctypes.c_void_p,
                ctypes.c_int64,
                ctypes.c_double,
                ctypes.c_int,
            ]
            forward.restype = backward.restype = ctypes.c_int
            self._functions[dtype] = (forward, backward)

    def forward(self, x: torch.Tensor, out: torch.Tensor, slope: float) -> None:
        """Write DSReLU of the contiguous ``x`` into the contiguous ``out`` (may be ``x``)."""
        forward, _ = self._functions[x.dtype]
        forward(x.data_ptr(), out.data_ptr(), x.numel(), slope, torch.get_num_threads())

    def backward(
        self, output: torch.Tensor, grad: torch.Tensor, out: torch.Tensor, slope: float
    ) -> None:
        """Write the input gradient into ``out`` from the forward ``output`` and ``grad``."""
        _, backward = self._functions[output.dtype]
        backward(
            output.data_ptr(),
            grad.data_ptr(),
            out.data_ptr(),
            output.numel(),
            slope,
            torch.get_num_threads(),
        )


def _cache_dir() -> Path:
    if "DSRELU_CACHE_DIR" in os.environ:
        return Path(os.environ["DSRELU_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dsrelu"


def _build(compiler: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".kernel.", suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        subprocess.run(
            [compiler, *_FLAGS, "-o", tmp_name, str(_SOURCE)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        os.replace(tmp_name, target)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


@functools.cache
def load() -> CpuKernel | None:
    """Compile (once per source version) and load the CPU kernel.

    Returns:
        The kernel, or ``None`` when it is disabled or cannot be built here.
    """
    if os.environ.get("DSRELU_DISABLE_KERNEL", "") not in ("", "0"):
        log.debug("fused DSReLU kernel disabled by DSRELU_DISABLE_KERNEL")
        return None
    if not sys.platform.startswith(("linux", "darwin")):
        return None
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        log.info("no C compiler found; DSReLU uses the composed PyTorch expression")
        return None
    digest = hashlib.sha256(_SOURCE.read_bytes() + " ".join(_FLAGS).encode()).hexdigest()[:16]
    target = _cache_dir() / f"dsrelu_kernel_{digest}.so"
    try:
        if not target.exists():
            log.info("compiling the fused DSReLU CPU kernel into %s", target)
            _build(compiler, target)
        return CpuKernel(ctypes.CDLL(str(target)))
    except (OSError, subprocess.SubprocessError, AttributeError) as error:
        log.warning("fused DSReLU kernel unavailable (%s); using the PyTorch expression", error)
        return None
