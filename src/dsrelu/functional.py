"""Functional form of DSReLU: ``dsrelu(input, slope)``.

The slope here is a fixed number (or a 0-dim tensor); :class:`dsrelu.DSReLU` computes
it from training progress and calls :func:`dsrelu`.
"""

from __future__ import annotations

import math

import torch

from . import _kernel

__all__ = ["dsrelu"]

Slope = float | torch.Tensor


def dsrelu(input: torch.Tensor, slope: Slope, inplace: bool = False) -> torch.Tensor:
    r"""Apply DSReLU with a given slope element-wise.

    .. math::
        \text{DSReLU}(x) = \begin{cases} s \cdot x & x > 0 \\ x & x \le 0 \end{cases}

    The gradient is ``s`` where ``x > 0`` and ``1`` where ``x <= 0`` (so ``1`` at zero).
    Only the output is kept for the backward pass: its sign is the sign of the input
    because ``s > 0``, so DSReLU saves no more memory than ``nn.ReLU(inplace=True)``.

    Args:
        input: any floating point tensor.
        slope: the positive slope ``s`` of the positive side, a Python number or a
            0-dim tensor (a tensor keeps graph capture free of value-specialised code).
        inplace: overwrite ``input`` with the result. Default: ``False``.

    Returns:
        A tensor of the same shape, dtype and device as ``input``.

    Raises:
        ValueError: if ``slope`` is a number that is not positive and finite.

    Examples:
        >>> import torch
        >>> dsrelu(torch.tensor([-2.0, 0.0, 3.0]), slope=2.0)
        tensor([-2.,  0.,  6.])

    .. note::
        On CPU, float32 and float64 tensors go through a fused one-pass kernel when a C
        compiler is available (see ``dsrelu._kernel``); elsewhere the same values come
        from ``torch.where``. Double backward is not supported.
    """
    if not isinstance(slope, torch.Tensor):
        slope = float(slope)
        if not (math.isfinite(slope) and slope > 0):
            raise ValueError(f"slope must be a positive finite number, got {slope!r}")
    return apply_checked(input, slope, inplace)


def apply_checked(input: torch.Tensor, slope: Slope, inplace: bool) -> torch.Tensor:
    """:func:`dsrelu` for a slope already known to be positive and finite."""
    if torch.compiler.is_compiling() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export():
        return _expression(input, slope)
    if torch.is_grad_enabled() and input.requires_grad:
        return _DSReLUFunction.apply(input, slope, inplace)
    return _forward(input, slope, inplace)


def _expression(x: torch.Tensor, slope: Slope) -> torch.Tensor:
    return torch.where(x > 0, x * slope, x)


def _kernel_for(x: torch.Tensor, slope: Slope) -> _kernel.CpuKernel | None:
    if x.device.type != "cpu" or isinstance(slope, torch.Tensor):
        return None
    kernel = _kernel.load()
    if kernel is None or x.dtype not in kernel.dtypes:
        return None
    return kernel


def _is_dense(x: torch.Tensor) -> bool:
    """Whether the elements of ``x`` fill its memory with no gaps (any dim order)."""
    if x.is_contiguous():
        return True
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)


def _forward(x: torch.Tensor, slope: Slope, inplace: bool) -> torch.Tensor:
    kernel = _kernel_for(x, slope)
    if kernel is None:
        result = _expression(x, slope)
        return x.copy_(result) if inplace else result
    source = x if _is_dense(x) else x.contiguous()
    if inplace and source is x:
        kernel.forward(x, x, slope)
        return x
    out = torch.empty_like(source)
    kernel.forward(source, out, slope)
    return x.copy_(out) if inplace else out


def _backward(output: torch.Tensor, grad: torch.Tensor, slope: Slope) -> torch.Tensor:
    kernel = _kernel_for(output, slope)
    if kernel is None or grad.dtype != output.dtype:
        return torch.where(output > 0, grad * slope, grad)
    if not (_is_dense(output) and grad.stride() == output.stride()):
        output, grad = output.contiguous(), grad.contiguous()
    grad_input = torch.empty_like(output)
    kernel.backward(output, grad, grad_input, slope)
    return grad_input


class _DSReLUFunction(torch.autograd.Function):
    """Saves only the output; the backward reads the input's sign from it."""

    @staticmethod
    def forward(ctx, input: torch.Tensor, slope: Slope, inplace: bool) -> torch.Tensor:
        output = _forward(input, slope, inplace)
        if inplace:
            ctx.mark_dirty(input)
        ctx.save_for_backward(output)
        ctx.slope = slope.detach() if isinstance(slope, torch.Tensor) else slope
        return output

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        if torch.is_grad_enabled():
            # backward(create_graph=True): the fused kernel is not differentiable.
            raise RuntimeError("DSReLU does not support double backward (create_graph=True)")
        (output,) = ctx.saved_tensors
        return _backward(output, grad, ctx.slope), None, None
