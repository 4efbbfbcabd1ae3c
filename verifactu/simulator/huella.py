"""The simulator's own huella (SHA-256 chain hash) computation, per SPEC §1.

Deliberately independent of the rest of the ``verifactu`` package: if both sides shared
the code, a bug in it would be invisible to the tests.
"""

from __future__ import annotations

import hashlib

ALTA_FIELDS = (
    "IDEmisorFactura",
    "NumSerieFactura",
    "FechaExpedicionFactura",
    "TipoFactura",
    "CuotaTotal",
    "ImporteTotal",
    "Huella",
    "FechaHoraHusoGenRegistro",
)
ANULACION_FIELDS = (
    "IDEmisorFacturaAnulada",
    "NumSerieFacturaAnulada",
    "FechaExpedicionFacturaAnulada",
    "Huella",
    "FechaHoraHusoGenRegistro",
)


def huella_string(names: tuple[str, ...], values: dict[str, str | None]) -> str:
    """``Name=value&…`` with each value stripped; missing values give ``Name=``."""
    return "&".join(f"{name}={(values.get(name) or '').strip()}" for name in names)


def sha256_upper(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest().upper()


def huella_alta(values: dict[str, str | None]) -> str:
    """Huella of a RegistroAlta; ``values['Huella']`` is the *previous* record's huella."""
    return sha256_upper(huella_string(ALTA_FIELDS, values))


def huella_anulacion(values: dict[str, str | None]) -> str:
    """Huella of a RegistroAnulacion; ``values['Huella']`` is the previous record's huella."""
    return sha256_upper(huella_string(ANULACION_FIELDS, values))
