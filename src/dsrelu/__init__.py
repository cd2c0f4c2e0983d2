"""DSReLU, the dynamic-slope activation, and a cross-validated activation comparison.

The activation:

- :class:`DSReLU`: the module; :func:`slope_at`: its slope schedule;
- :func:`set_progress` and :class:`ProgressScheduler` (plain PyTorch loops) or
  :class:`DSReLUProgressCallback` (Lightning) to drive training progress;
- :func:`get_activation`, :func:`available_activations` and
  :func:`replace_activations` to build and swap activations by name.
"""

from .activation import DEFAULT_A, DEFAULT_B, DEFAULT_K, DSReLU, set_progress, slope_at
from .registry import available_activations, get_activation, replace_activations
from .schedule import ProgressScheduler

__all__ = [
    "DEFAULT_A",
    "DEFAULT_B",
    "DEFAULT_K",
    "DSReLU",
    "DSReLUProgressCallback",
    "ProgressScheduler",
    "available_activations",
    "get_activation",
    "replace_activations",
    "set_progress",
    "slope_at",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Lightning is imported only when its callback is asked for.
    if name == "DSReLUProgressCallback":
        from .callbacks import DSReLUProgressCallback

        return DSReLUProgressCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
