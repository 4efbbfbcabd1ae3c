"""The errors of chained records: changing or deleting what a record hashed or sent (the
models that keep such rows refuse it in ``save``/``delete``), and asking for the legal copy
of a NO VERI*FACTU record that has no signature."""

from __future__ import annotations


class ImmutableRecordError(Exception):
    """Raised on any attempt to change or delete what a chained record hashed or sent."""


UNSIGNED_MESSAGE = (
    "Este registro NO VERI*FACTU no tiene firma, así que no se entrega como copia legal: "
    "todo registro se firma al generarse y que falte es una anomalía. Ejecute la detección "
    "de anomalías y revise el registro de eventos."
)


class UnsignedRecord(Exception):
    """A NO VERI*FACTU record without its signed copy: never served or exported unsigned.
    ``message`` is Spanish."""

    def __init__(self, message: str = UNSIGNED_MESSAGE) -> None:
        super().__init__(message)
        self.message = message
