"""The VERI*FACTU huella (SHA-256 chain hash) and the formatters of the literals it hashes.

AEAT hashes the *text* of the XML elements, so every amount, date and timestamp is rendered
exactly once by the formatters below and that same string is written to the XML and fed to the
hash (see SPEC §1). The hash functions take those literal strings; they never format values
themselves, so there is no second rendering that could disagree with the XML.

Pure Python: no Django, no database.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

__all__ = [
    "MADRID",
    "format_amount",
    "format_date",
    "format_timestamp",
    "huella_alta",
    "huella_anulacion",
    "huella_evento",
    "sha256_upper",
]

MADRID = ZoneInfo("Europe/Madrid")
_CENT = Decimal("0.01")
_MAX_INTEGER_DIGITS = 12  # ImporteSgn12.2Type: (\+|-)?\d{1,12}(\.\d{0,2})?


def format_amount(value: Decimal | int) -> str:
    """Render an amount as ``-?\\d+\\.\\d\\d`` (two decimals, ``.``, no ``+``, no grouping).

    Rounds half-up to cents. Floats are refused (``TypeError``): a float cannot hold most cent
    values exactly, so the text hashed could silently differ from what the user meant.
    More than 12 integer digits do not fit AEAT's ``ImporteSgn12.2Type`` (``ValueError``).
    """
    if type(value) is not Decimal:  # fast path first: this runs several times per record
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"amount must be Decimal or int, not {type(value).__name__}")
        value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"amount must be finite, got {value!r}")
    try:
        text = str(value.quantize(_CENT, rounding=ROUND_HALF_UP))
    except InvalidOperation:
        raise ValueError(f"amount {value} has too many digits") from None
    if text[0] == "-":
        if text == "-0.00":
            return "0.00"  # never "-0.00"
        integer_digits = len(text) - 4
    else:
        integer_digits = len(text) - 3
    if integer_digits > _MAX_INTEGER_DIGITS:
        raise ValueError(f"amount {text} has more than {_MAX_INTEGER_DIGITS} integer digits")
    return text


def format_date(value: date) -> str:
    """Render a date as AEAT's ``fecha`` type: ``dd-mm-yyyy``."""
    if type(value) is not date:
        if not isinstance(value, date):
            raise TypeError(f"expected a date, not {type(value).__name__}")
        if isinstance(value, datetime):
            value = value.date()
    iso = value.isoformat()  # yyyy-mm-dd, the cheapest zero-padded rendering
    return f"{iso[8:10]}-{iso[5:7]}-{iso[:4]}"


def format_timestamp(value: datetime, tz: ZoneInfo = MADRID) -> str:
    """Render ``FechaHoraHusoGenRegistro``: ``YYYY-MM-DDThh:mm:ss+hh:mm`` in ``tz``.

    Seconds precision (AEAT rejects fractions with 1244 although the XSD allows them) and a
    numeric offset (``Z`` would hash differently). Naive datetimes are refused: the local
    time of a naive value is a guess, and the hash would change with the guess.
    ``tz`` is Europe/Madrid by default; pass ``ZoneInfo("Atlantic/Canary")`` for Canarias.
    """
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime refused: FechaHoraHusoGenRegistro needs a timezone")
    return value.astimezone(tz).isoformat(timespec="seconds")


def sha256_upper(text: str) -> str:
    """SHA-256 of the UTF-8 bytes of ``text`` as 64 uppercase hex characters."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest().upper()


def _v(value: str | None) -> str:
    # Edge blanks of each value are not significant for AEAT (hash doc §3); None -> "Name=".
    return value.strip() if value else ""


def huella_alta(
    id_emisor_factura: str,
    num_serie_factura: str,
    fecha_expedicion_factura: str,
    tipo_factura: str,
    cuota_total: str,
    importe_total: str,
    huella_anterior: str | None,
    fecha_hora_huso_gen_registro: str,
) -> str:
    """Huella of a RegistroAlta from its XML literals (SPEC §1.1, 8 pairs).

    ``huella_anterior`` is the previous record's huella; empty or None for the first record.
    """
    # An f-string rather than a join over pairs: this runs once per record on the hot path.
    return sha256_upper(
        f"IDEmisorFactura={_v(id_emisor_factura)}"
        f"&NumSerieFactura={_v(num_serie_factura)}"
        f"&FechaExpedicionFactura={_v(fecha_expedicion_factura)}"
        f"&TipoFactura={_v(tipo_factura)}"
        f"&CuotaTotal={_v(cuota_total)}"
        f"&ImporteTotal={_v(importe_total)}"
        f"&Huella={_v(huella_anterior)}"
        f"&FechaHoraHusoGenRegistro={_v(fecha_hora_huso_gen_registro)}"
    )


def huella_anulacion(
    id_emisor_factura_anulada: str,
    num_serie_factura_anulada: str,
    fecha_expedicion_factura_anulada: str,
    huella_anterior: str | None,
    fecha_hora_huso_gen_registro: str,
) -> str:
    """Huella of a RegistroAnulacion from its XML literals (SPEC §1.1, 5 pairs)."""
    return sha256_upper(
        f"IDEmisorFacturaAnulada={_v(id_emisor_factura_anulada)}"
        f"&NumSerieFacturaAnulada={_v(num_serie_factura_anulada)}"
        f"&FechaExpedicionFacturaAnulada={_v(fecha_expedicion_factura_anulada)}"
        f"&Huella={_v(huella_anterior)}"
        f"&FechaHoraHusoGenRegistro={_v(fecha_hora_huso_gen_registro)}"
    )


def huella_evento(
    sistema_nif: str | None,
    sistema_id_otro: str | None,
    id_sistema_informatico: str,
    version: str,
    numero_instalacion: str,
    obligado_nif: str,
    tipo_evento: str,
    huella_evento_anterior: str | None,
    fecha_hora_huso_gen_evento: str,
) -> str:
    """Huella of a RegistroEvento (NO VERI*FACTU), SPEC §1.1, 9 pairs; ``NIF`` appears twice.

    ``sistema_nif`` / ``sistema_id_otro``: the producer's NIF or IDOtro/ID (the other empty).
    """
    return sha256_upper(
        f"NIF={_v(sistema_nif)}"
        f"&ID={_v(sistema_id_otro)}"
        f"&IdSistemaInformatico={_v(id_sistema_informatico)}"
        f"&Version={_v(version)}"
        f"&NumeroInstalacion={_v(numero_instalacion)}"
        f"&NIF={_v(obligado_nif)}"
        f"&TipoEvento={_v(tipo_evento)}"
        f"&HuellaEvento={_v(huella_evento_anterior)}"
        f"&FechaHoraHusoGenEvento={_v(fecha_hora_huso_gen_evento)}"
    )
