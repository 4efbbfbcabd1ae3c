"""The error raised when code tries to change or delete what a chained record hashed or
sent; the models that keep such rows refuse it in ``save``/``delete``."""

from __future__ import annotations


class ImmutableRecordError(Exception):
    """Raised on any attempt to change or delete what a chained record hashed or sent."""
