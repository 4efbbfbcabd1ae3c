"""AEAT's checks of one received record: the chain, the rejections of an alta or an
anulación (identity, dates, amounts, the regime and operation rules) and the warnings of
its totals.

Chain policy (documented choice): AEAT stores only accepted records, but the SIF chains
every record it *generated*, including those AEAT rejected (SPEC §1: "rejected records stay
in the chain"). So the chain tail kept per (obligado NIF, producer NIF + IdSistemaInformatico
+ NumeroInstalacion) advances with every record the simulator *receives*, Incorrecto ones
included. A record whose own huella was already received in that chain is a resend (e.g.
after a lost answer): it is neither chain-checked again nor moves the tail, so resending
old records never breaks the chain of the next new ones.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from lxml import etree

from .nif import is_valid_nif
from .schemas import NSMAP
from .soap import Options, amount_of, parse_fecha, text_at
from .state import State, StoredRecord

TOLERANCE = Decimal("10.00")
F2_LIMIT = Decimal("3000.00")
NO_TOTALS_CHECK_REGIMES = {"03", "05", "06", "08", "09"}


def check_chain(
    record: etree._Element, obligado: str, huella: str, prev: str, state: State
) -> int | None:
    system = record.find("sf:SistemaInformatico", NSMAP)
    chain_key = "|".join(
        [
            obligado,
            text_at(system, "sf:NIF") or text_at(system, "sf:IDOtro/sf:ID"),
            text_at(system, "sf:IdSistemaInformatico"),
            text_at(system, "sf:NumeroInstalacion"),
        ]
    )
    chain = state.chain(chain_key)
    if huella in chain.seen:
        return None  # a resend of something already received: not a new chain link
    error = None
    if text_at(record, "sf:Encadenamiento/sf:PrimerRegistro") == "S":
        if chain.tail is not None:
            error = 2007
    elif not re.fullmatch(r"[0-9A-F]{64}", prev):
        error = 2002
    elif prev == huella:
        error = 2008
    elif chain.tail is not None and prev != chain.tail:
        error = 2003
    state.advance_chain(chain_key, huella)
    return error


def alta_rejection(
    record: etree._Element,
    ids: tuple[str, ...],
    obligado: str,
    existing: StoredRecord | None,
    now: datetime,
    options: Options,
) -> tuple[int | None, StoredRecord | None]:
    if ids[1] in options.reject:
        return options.reject[ids[1]], None
    if ids[0] != obligado:
        return 1108, None
    for nif in record.iterfind("sf:Destinatarios/sf:IDDestinatario/sf:NIF", NSMAP):
        if not is_valid_nif((nif.text or "").strip()):
            return 1123, None
    issued = parse_fecha(ids[2])
    if issued is None:
        return 1105, None
    if issued > now.date():
        return 1112, None
    lines = record.findall("sf:Desglose/sf:DetalleDesglose", NSMAP)
    tipo = text_at(record, "sf:TipoFactura")
    if (
        tipo == "F2"
        and text_at(record, "sf:FacturaSinIdentifDestinatarioArt61d") != "S"
        and not text_at(record, "sf:NumRegistroAcuerdoFacturacion")
        and sum(
            amount_of(text_at(d, "sf:BaseImponibleOimporteNoSujeto"))
            + amount_of(text_at(d, "sf:CuotaRepercutida"))
            for d in lines
        )
        > F2_LIMIT + TOLERANCE
    ):
        return 1150, None
    if text_at(record, "sf:TipoRectificativa") != "I" and tipo not in ("R2", "R3"):
        for d in lines:
            rate, cuota = text_at(d, "sf:TipoImpositivo"), text_at(d, "sf:CuotaRepercutida")
            if rate and cuota:
                coste = text_at(d, "sf:BaseImponibleACoste")
                base = amount_of(coste or text_at(d, "sf:BaseImponibleOimporteNoSujeto"))
                if abs(base * amount_of(rate) / 100 - amount_of(cuota)) > TOLERANCE:
                    return (1144 if coste else 1142), None
    code = _invoice_rule(record, tipo) or next(
        (c for c in (_line_rule(record, tipo, d) for d in lines) if c is not None), None
    )
    if code is not None:
        return code, None
    subsanacion = text_at(record, "sf:Subsanacion") == "S"
    rechazo = text_at(record, "sf:RechazoPrevio")
    if rechazo in ("S", "X") and not subsanacion:
        return 1153, None
    if existing is not None:
        if not subsanacion:
            return 3000, None
        if existing.estado == "Anulado":
            return 3001, None
        return None, existing
    if subsanacion and rechazo != "X":
        return 3002, None
    return None, None


def _invoice_rule(record: etree._Element, tipo: str) -> int | None:
    """AEAT's record-level checks of FacturasSustituidas and the parties' names."""
    if (tipo == "F3") != (record.find("sf:FacturasSustituidas", NSMAP) is not None):
        return 1116  # F3 lists the simplified invoices it replaces; no other type does
    for dest in record.iterfind("sf:Destinatarios/sf:IDDestinatario", NSMAP):
        if not text_at(dest, "sf:NombreRazon"):
            return 1283 if dest.find("sf:NIF", NSMAP) is not None else 1239
    tercero = record.find("sf:Tercero", NSMAP)
    if tercero is not None and not text_at(tercero, "sf:NombreRazon"):
        return 1178
    return None


def _line_rule(record: etree._Element, tipo: str, d: etree._Element) -> int | None:
    """One DetalleDesglose against AEAT's regime / operation rules (errores.properties
    1199–1293, 1257, 1289; E7/E8 are IGIC's own exemptions)."""
    impuesto = text_at(d, "sf:Impuesto") or "01"
    clave = text_at(d, "sf:ClaveRegimen")
    op = text_at(d, "sf:CalificacionOperacion") or text_at(d, "sf:OperacionExenta")
    exenta = op.startswith("E")
    nif_recipients = [
        text_at(x, "sf:NIF")
        for x in record.iterfind("sf:Destinatarios/sf:IDDestinatario", NSMAP)
        if x.find("sf:NIF", NSMAP) is not None
    ]
    coste = text_at(d, "sf:BaseImponibleACoste")
    if op in ("E7", "E8") and impuesto != "03":
        return 1182
    if coste and clave != "06" and impuesto not in ("02", "05"):
        return 1257
    if impuesto == "01" and op == "E5" and nif_recipients:
        return 1289
    if impuesto not in ("01", "03"):
        return None
    if clave == "01" and op in ("E2", "E3"):
        return 1199
    if clave == "02" and not exenta:
        return 1286
    if clave == "03" and op != "S1":
        return 1200
    if clave == "04" and not (op == "S2" or exenta):
        return 1201
    if clave == "06" and (tipo in ("F2", "F3", "R5") or not coste):
        return 1202
    if clave == "07" and op in ("S2", "N1", "N2", "E2", "E3", "E4", "E5"):
        return 1203
    if clave == "08" and op != "N2":
        return 1252
    if clave == "10" and (op != "N1" or tipo != "F1" or not nif_recipients):
        return 1205
    if clave == "14":
        issued = parse_fecha(text_at(record, "sf:IDFactura/sf:FechaExpedicionFactura"))
        operated = parse_fecha(text_at(record, "sf:FechaOperacion"))
        if operated is None or issued is None or operated <= issued:
            return 1147
        if tipo not in ("F1", "R1", "R2", "R3", "R4"):
            return 1148
        if not nif_recipients or any(n[:1] not in ("P", "Q", "S", "V") for n in nif_recipients):
            return 1149
    return None


def anulacion_rejection(
    record: etree._Element,
    ids: tuple[str, ...],
    obligado: str,
    existing: StoredRecord | None,
    options: Options,
) -> tuple[int | None, StoredRecord | None]:
    if ids[1] in options.reject:
        return options.reject[ids[1]], existing
    if ids[0] != obligado:
        return 1108, None
    if existing is None:
        if text_at(record, "sf:SinRegistroPrevio") == "S":
            return None, None
        return 3002, None
    if existing.estado == "Anulado":
        return 3001, None
    return None, existing


def totals_warning(record: etree._Element) -> int | None:
    lines = record.findall("sf:Desglose/sf:DetalleDesglose", NSMAP)
    if any(text_at(d, "sf:Impuesto") == "02" and not text_at(d, "sf:ClaveRegimen") for d in lines):
        return 2009  # IPSI without ClaveRegimen: stored, with an error to correct
    if any(text_at(d, "sf:ClaveRegimen") in NO_TOTALS_CHECK_REGIMES for d in lines):
        return None
    cuotas = sum(
        (
            amount_of(text_at(d, "sf:CuotaRepercutida"))
            + amount_of(text_at(d, "sf:CuotaRecargoEquivalencia"))
            for d in lines
        ),
        Decimal(0),
    )
    bases = sum(
        (amount_of(text_at(d, "sf:BaseImponibleOimporteNoSujeto")) for d in lines), Decimal(0)
    )
    if abs(amount_of(text_at(record, "sf:CuotaTotal")) - cuotas) > TOLERANCE:
        return 2006
    if abs(amount_of(text_at(record, "sf:ImporteTotal")) - (bases + cuotas)) > TOLERANCE:
        return 2005
    return None
