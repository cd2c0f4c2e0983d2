"""Errors a user can fix.

Every error that comes from bad input (a wrong name, a missing or broken file, an
impossible setting) derives from :class:`DsreluError`. The command line turns these
into one line on stderr and exit code 2; library users can catch them by class.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "DsreluError", "ResultsError"]


class DsreluError(Exception):
    """Base class of the errors caused by input the user can correct."""


class ConfigError(DsreluError, ValueError):
    """A setting is out of range, inconsistent, or conflicts with earlier results."""


class DataError(DsreluError, ValueError):
    """A dataset is missing, incomplete or malformed; the message names the file."""


class ResultsError(DsreluError, ValueError):
    """A results directory is missing, foreign or damaged."""
