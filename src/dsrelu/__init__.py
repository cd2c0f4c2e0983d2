"""DSReLU, the dynamic-slope activation, and a cross-validated activation comparison."""

__version__ = "0.1.0"
