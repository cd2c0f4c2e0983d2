"""The DSReLU module, its slope schedule, and setting progress across a model."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .functional import apply_checked

__all__ = ["DEFAULT_A", "DEFAULT_B", "DEFAULT_K", "DSReLU", "set_progress", "slope_at"]

#: The initial slope of the paper, ``tan(85 deg)`` (about 11.430).
DEFAULT_A: float = math.tan(math.radians(85.0))
#: The final slope of the paper, ``tan(10 deg)`` (about 0.1763).
DEFAULT_B: float = math.tan(math.radians(10.0))
#: The steepness of the paper's sigmoid schedule.
DEFAULT_K: float = 5.0


def _check_positive(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


def _check_progress(progress: float) -> float:
    try:
        number = float(progress)
    except (TypeError, ValueError):
        raise ValueError(f"progress must be a finite number in [0, 1], got {progress!r}") from None
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise ValueError(f"progress must be a finite number in [0, 1], got {progress!r}")
    return number


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def slope_at(
    progress: float,
    a: float = DEFAULT_A,
    b: float = DEFAULT_B,
    k: float = DEFAULT_K,
    *,
    exact_ends: bool = False,
) -> float:
    r"""The DSReLU slope at a training progress, in float64.

    .. math::
        s(t) = a + \frac{b - a}{1 + e^{-k (t - 0.5)}}

    With ``exact_ends=True`` the sigmoid is rescaled to run from exactly ``a`` at
    ``t = 0`` to exactly ``b`` at ``t = 1``:
    :math:`s(t) = a + (b - a)\,\frac{\sigma(k(t-0.5)) - \sigma(-k/2)}{\sigma(k/2) - \sigma(-k/2)}`.

    Args:
        progress: training progress ``t`` in ``[0, 1]``.
        a: initial slope, positive. Default: ``tan(85 deg)``.
        b: final slope, positive. Default: ``tan(10 deg)``.
        k: steepness, positive. Default: ``5``.
        exact_ends: rescale so that ``s(0) = a`` and ``s(1) = b``. Default: ``False``.

    Returns:
        The slope ``s(t)`` as a Python float.

    Raises:
        ValueError: if ``progress`` is outside ``[0, 1]`` or not finite, or ``a``, ``b``
            or ``k`` is not a positive finite number.

    Examples:
        >>> round(slope_at(0.5), 4)  # halfway between tan(85 deg) and tan(10 deg)
        5.8032

    .. note::
        With the paper's defaults the sigmoid does not reach its ends inside
        ``[0, 1]``: ``s(0)`` is about 10.58 and ``s(1)`` about 1.03, not 11.43 and
        0.18. This is what the formula says; ``exact_ends=True`` is the alternative.
    """
    t = _check_progress(progress)
    a, b, k = _check_positive("a", a), _check_positive("b", b), _check_positive("k", k)
    weight = _sigmoid(k * (t - 0.5))
    if exact_ends:
        low, high = _sigmoid(-0.5 * k), _sigmoid(0.5 * k)
        weight = (weight - low) / (high - low)
    return a + (b - a) * weight


class DSReLU(nn.Module):
    r"""Dynamic-slope ReLU: the positive side's slope follows training progress.

    .. math::
        \text{DSReLU}(x; t) = \begin{cases} s(t) \cdot x & x > 0 \\ x & x \le 0 \end{cases}
        \qquad s(t) = a + \frac{b - a}{1 + e^{-k (t - 0.5)}}

    Progress ``t`` is a buffer named ``progress`` (float64): it is saved in the
    ``state_dict``, moves with ``.to(device)``, keeps float64 under ``.half()`` and
    similar casts, and a restored checkpoint evaluates with the slope it was saved with.
    It changes only through :meth:`set_progress` (or :func:`set_progress` on a whole
    model, or a :class:`~dsrelu.ProgressScheduler`), never inside ``forward``.

    Args:
        a: initial slope, positive. Default: ``tan(85 deg)`` (about 11.430).
        b: final slope, positive. Default: ``tan(10 deg)`` (about 0.1763).
        k: steepness of the schedule, positive. Default: ``5.0``.
        inplace: overwrite the input. Default: ``False``.
        progress: initial progress in ``[0, 1]``. Default: ``0.0``.
        exact_ends: rescale the schedule to hit ``a`` at 0 and ``b`` at 1 exactly.
            Default: ``False`` (the paper's formula).

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input.

    Examples:
        >>> import torch
        >>> act = DSReLU()
        >>> act.set_progress(0.5)
        >>> act(torch.tensor([-1.0, 2.0]))
        tensor([-1.0000, 11.6064])

    .. note::
        With the default ``a``, ``b`` and ``k`` the slope runs from about 10.58 at
        progress 0 to about 1.03 at progress 1 (see :func:`slope_at`). Double backward
        is not supported.
    """

    progress: torch.Tensor

    def __init__(
        self,
        a: float = DEFAULT_A,
        b: float = DEFAULT_B,
        k: float = DEFAULT_K,
        inplace: bool = False,
        *,
        progress: float = 0.0,
        exact_ends: bool = False,
    ) -> None:
        super().__init__()
        self.a = _check_positive("a", a)
        self.b = _check_positive("b", b)
        self.k = _check_positive("k", k)
        self.inplace = inplace
        self.exact_ends = exact_ends
        self.register_buffer(
            "progress", torch.tensor(_check_progress(progress), dtype=torch.float64)
        )
        self._slope_cache: tuple[tuple[Any, ...], float] = ((), math.nan)
        self._slope_tensor_cache: tuple[tuple[Any, ...], torch.Tensor | None] = ((), None)

    def set_progress(self, progress: float) -> None:
        """Set training progress ``t`` in ``[0, 1]``.

        Raises:
            ValueError: if ``progress`` is outside ``[0, 1]`` or not finite.
        """
        with torch.no_grad():
            self.progress.fill_(_check_progress(progress))

    @property
    def slope(self) -> float:
        """The current slope ``s(progress)`` as a Python float."""
        return slope_at(float(self.progress), self.a, self.b, self.k, exact_ends=self.exact_ends)

    def slope_tensor(self) -> torch.Tensor:
        """The current slope as a 0-dim float64 tensor on the buffer's device (no sync)."""
        weight = torch.sigmoid(self.k * (self.progress - 0.5))
        if self.exact_ends:
            low, high = _sigmoid(-0.5 * self.k), _sigmoid(0.5 * self.k)
            weight = (weight - low) / (high - low)
        return self.a + (self.b - self.a) * weight

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        # On CPU eager the slope is a Python number (no device sync, fused kernel).
        # On other devices and under graph capture it is computed from the buffer as a
        # tensor, so no sync happens and captured graphs follow later progress values.
        if torch.compiler.is_compiling() or torch.jit.is_tracing():
            slope: float | torch.Tensor = self.slope_tensor()
        elif self.progress.device.type == "cpu":
            slope = self._cached_slope()
        else:
            slope = self._cached_slope_tensor()
        return apply_checked(input, slope, self.inplace)

    def _cached_slope_tensor(self) -> torch.Tensor:
        # Keyed on the buffer's identity and version counter: set_progress and
        # load_state_dict write in place and bump the version, so no value is read back
        # from the device.
        key = (id(self.progress), self.progress._version, self.a, self.b, self.k, self.exact_ends)
        if self._slope_tensor_cache[0] != key:
            self._slope_tensor_cache = (key, self.slope_tensor())
        return self._slope_tensor_cache[1]

    def _cached_slope(self) -> float:
        key = (self.progress.item(), self.a, self.b, self.k, self.exact_ends)
        if self._slope_cache[0] != key:
            self._slope_cache = (key, self.slope)
        return self._slope_cache[1]

    def extra_repr(self) -> str:
        text = f"a={self.a:.4g}, b={self.b:.4g}, k={self.k:g}, progress={float(self.progress):.4g}"
        if self.exact_ends:
            text += ", exact_ends=True"
        return text + (", inplace=True" if self.inplace else "")

    def _apply(self, fn: Any, recurse: bool = True) -> DSReLU:
        # Progress keeps its float64 value when the model is cast (e.g. ``.half()``);
        # device moves still apply.
        value = self.progress.detach().clone()
        super()._apply(fn, recurse)
        if self.progress.dtype != torch.float64:
            self.progress = value.to(self.progress.device)
        return self

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        key = prefix + "progress"
        if key in state_dict:
            value = state_dict[key]
            number = (
                float(value) if isinstance(value, torch.Tensor) and value.numel() == 1 else value
            )
            _check_progress(number)
            state_dict[key] = torch.as_tensor(number, dtype=torch.float64)
        super()._load_from_state_dict(state_dict, prefix, *args)


def set_progress(model: nn.Module, progress: float) -> int:
    """Set the training progress of every :class:`DSReLU` in ``model``.

    A module used twice in the forward pass (as torchvision's ``BasicBlock`` does) is
    one module and is set once.

    Args:
        model: any module; ``model`` itself may be a :class:`DSReLU`.
        progress: training progress in ``[0, 1]``.

    Returns:
        How many :class:`DSReLU` modules were set.

    Raises:
        ValueError: if ``progress`` is outside ``[0, 1]`` or not finite.
    """
    value = _check_progress(progress)
    count = 0
    for module in model.modules():
        if isinstance(module, DSReLU):
            module.set_progress(value)
            count += 1
    return count
