"""The tax arithmetic of an invoice: line amounts, IVA and recargo groups, IRPF, totals.

Pure functions on integers: money is in cents, quantities in hundredths of a unit, rates and
discounts in basis points (2100 = 21 %). Every division rounds half away from zero
(:mod:`factu.money`, the one rounding rule of every path), so a
rectificativa that negates an invoice negates every amount exactly. ``Decimal`` appears only in
:func:`percent`, for the places (XML, v1 API) that must show a rate.

IVA and recargo are computed once per rate group on the group's summed base, never per line:
each group becomes one VERI*FACTU ``DetalleDesglose`` and AEAT checks its ``CuotaRepercutida``
against base × rate (SPEC §4), so per-line rounding would drift by a cent per line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from factu.money import BP_DENOMINATOR, round_half_up, share_cents

QUANTITY_UNIT = 100  # hundredths of a unit

GENERAL = "general"
REDUCIDO = "reducido"
SUPERREDUCIDO = "superreducido"
CERO = "cero"
EXENTO = "exento"
NO_SUJETO = "no_sujeto"
INVERSION_SUJETO_PASIVO = "inversion_sujeto_pasivo"

# IVA rate of each type, in basis points. Exempt, not-subject and reverse-charge lines carry
# no cuota; reverse charge (S2) still reports TipoImpositivo 0 in the XML.
IVA_RATES_BP: dict[str, int] = {
    GENERAL: 2100,
    REDUCIDO: 1000,
    SUPERREDUCIDO: 400,
    CERO: 0,
    EXENTO: 0,
    NO_SUJETO: 0,
    INVERSION_SUJETO_PASIVO: 0,
}
IVA_TYPES: tuple[str, ...] = tuple(IVA_RATES_BP)

# The indirect taxes of Canarias (IGIC, ImpuestoType 03) and of Ceuta and Melilla (IPSI, 02),
# which take the place of IVA there: a line's type names its tax and rate. They are declared
# in their own breakdown lines and never in the IVA 303.
IGIC_EXENTO = "igic_exento"
IPSI_EXENTO = "ipsi_exento"
IGIC_RATES_BP: dict[str, int] = {
    "igic_general": 700,
    "igic_reducido": 300,
    "igic_5": 500,
    "igic_cero": 0,
    "igic_incrementado": 950,
    "igic_especial": 1500,
    "igic_20": 2000,
    IGIC_EXENTO: 0,
}
IPSI_RATES_BP: dict[str, int] = {
    "ipsi_0_5": 50,
    "ipsi_1": 100,
    "ipsi_2": 200,
    "ipsi_3": 300,
    "ipsi_4": 400,
    "ipsi_8": 800,
    "ipsi_10": 1000,
    IPSI_EXENTO: 0,
}
TAX_RATES_BP: dict[str, int] = {**IVA_RATES_BP, **IGIC_RATES_BP, **IPSI_RATES_BP}
IVA, IPSI, IGIC = "01", "02", "03"  # VERI*FACTU's ImpuestoType
TAX_TYPES: dict[str, str] = {
    **dict.fromkeys(IVA_RATES_BP, IVA),
    **dict.fromkeys(IGIC_RATES_BP, IGIC),
    **dict.fromkeys(IPSI_RATES_BP, IPSI),
}
TAX_NAMES = {IVA: "IVA", IPSI: "IPSI", IGIC: "IGIC", "05": "Otros"}  # 05: a v1 line only

# Recargo de equivalencia paired with each IVA type (SPEC §4); the others carry none.
SURCHARGE_RATES_BP: dict[str, int] = {GENERAL: 520, REDUCIDO: 140, SUPERREDUCIDO: 50}

# Recargo on tobacco (labores del tabaco) sold to a retailer under recargo de equivalencia:
# 1.75 % beside IVA 21 % (LIVA art. 161), on lines marked ``tobacco``.
TOBACCO_SURCHARGE_BP = 175

# The causes each type needs: the exemption (E1–E6, OperacionExenta) or the reason it is not
# subject (N1/N2, CalificacionOperacion). The other types take no cause.
CAUSES: dict[str, frozenset[str]] = {
    EXENTO: frozenset({"E1", "E2", "E3", "E4", "E5", "E6"}),
    NO_SUJETO: frozenset({"N1", "N2"}),
    IGIC_EXENTO: frozenset({"E1", "E2", "E3", "E4", "E5", "E6"}),
    IPSI_EXENTO: frozenset({"E1", "E2", "E3", "E4", "E5", "E6"}),
}

# The ClaveRegimen a line may name instead of the one derived from its type (01, 02 or 18):
# whether the key fits the line and the invoice is for AEAT's rules (verifactu.rules) to say.
REGIMES: dict[str, str] = {
    "01": "01 · Régimen general",
    "02": "02 · Exportación",
    "03": "03 · Bienes usados, objetos de arte, antigüedades (REBU)",
    "05": "05 · Agencias de viajes",
    "07": "07 · Criterio de caja",
    "11": "11 · Arrendamiento de local de negocio",
    "14": "14 · Certificaciones de obra a una Administración Pública (IVA pendiente)",
    "15": "15 · Tracto sucesivo con IVA pendiente de devengo",
    "17": "17 · Régimen OSS o IOSS",
    "18": "18 · Recargo de equivalencia",
    "19": "19 · Agricultura, ganadería y pesca (REAGYP)",
    "20": "20 · Régimen simplificado",
}

REGIME_GENERAL = "01"
REGIME_EXPORT = "02"
REGIME_CASH = "07"  # régimen especial del criterio de caja
REGIME_SURCHARGE = "18"
EXPORT_CAUSES = frozenset({"E2", "E3"})


def _require_int(value: object, field: str) -> int:
    # bool is an int subclass: True would silently count as 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{field} must be an int, got {type(value).__name__} {value!r}")
    return value


def _require_bool(value: object, field: str) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{field} must be a bool, got {type(value).__name__} {value!r}")


def _require_bp(value: object, field: str) -> None:
    if not 0 <= _require_int(value, field) <= BP_DENOMINATOR:
        raise ValueError(
            f"{field} must be between 0 and {BP_DENOMINATOR} basis points, got {value}"
        )


@dataclass(frozen=True)
class LineInput:
    """One invoice line as entered; validated on construction.

    ``quantity`` is in hundredths of a unit (150 = 1.5 units), ``unit_price`` in cents,
    ``discount_bp`` in basis points (1000 = 10 %). ``cause`` is E1–E6 for ``exento``, N1/N2
    for ``no_sujeto`` and empty for every other type. Negative quantities and prices are
    refused later, by :func:`compute_totals`, unless the invoice is a rectificativa.
    """

    quantity: int
    unit_price: int
    iva_type: str
    discount_bp: int = 0
    cause: str = ""
    tobacco: bool = False
    regime: str = ""  # a ClaveRegimen of REGIMES, or empty: derived from the type

    def __post_init__(self) -> None:
        _require_int(self.quantity, "quantity")
        _require_int(self.unit_price, "unit_price")
        _require_bp(self.discount_bp, "discount_bp")
        if not isinstance(self.iva_type, str):
            raise TypeError(f"iva_type must be a str, got {type(self.iva_type).__name__}")
        if not isinstance(self.cause, str):
            raise TypeError(f"cause must be a str, got {type(self.cause).__name__}")
        if self.iva_type not in TAX_RATES_BP:
            raise ValueError(
                f"iva_type {self.iva_type!r} is unknown; expected one of {', '.join(TAX_RATES_BP)}"
            )
        _require_bool(self.tobacco, "tobacco")
        if self.regime and self.regime not in REGIMES:
            raise ValueError(
                f"regime {self.regime!r} is unknown; expected one of {', '.join(REGIMES)}"
            )
        if self.tobacco and self.iva_type != GENERAL:
            raise ValueError("tobacco surcharge (1.75 %) goes only with iva_type 'general'")
        allowed = CAUSES.get(self.iva_type)
        if allowed is None:
            if self.cause:
                raise ValueError(f"cause must be empty for iva_type {self.iva_type!r}")
        elif self.cause not in allowed:
            got = repr(self.cause) if self.cause else "none"
            raise ValueError(
                f"cause for iva_type {self.iva_type!r} must be one of "
                f"{', '.join(sorted(allowed))}, got {got}"
            )

    @property
    def amount_cents(self) -> int:
        """round(quantity × unit_price / 100), less the discount rounded on that amount."""
        gross = round_half_up(self.quantity * self.unit_price, QUANTITY_UNIT)
        return gross - share_cents(gross, self.discount_bp)


@dataclass(frozen=True)
class TaxGroup:
    """The lines sharing one IVA type, cause, recargo and regime: one ``DetalleDesglose``.

    ``operation_type`` is what goes in CalificacionOperacion (S1, S2, N1, N2) or
    OperacionExenta (E1–E6); ``regime_type`` is the ClaveRegimen. Rates are basis points and
    are 0 where none applies; see :attr:`reports_rate` for whether the XML carries them.
    """

    iva_type: str
    cause: str
    base_cents: int
    rate_bp: int
    iva_cents: int
    surcharge_rate_bp: int
    surcharge_cents: int
    operation_type: str
    regime_type: str
    tax_type: str = IVA  # ImpuestoType: 01 IVA, 02 IPSI, 03 IGIC

    @property
    def is_exempt(self) -> bool:
        """True for E1–E6, reported as OperacionExenta rather than CalificacionOperacion."""
        return self.operation_type.startswith("E")

    @property
    def reports_rate(self) -> bool:
        """Whether TipoImpositivo and CuotaRepercutida are written (S1, and S2 as zeros).

        Exempt and not-subject lines carry no rate, cuota or recargo (SPEC §4).
        """
        return self.operation_type in ("S1", "S2")

    @property
    def has_surcharge(self) -> bool:
        """Whether both recargo fields are written (they go together, regime 18 only)."""
        return self.regime_type == REGIME_SURCHARGE


@dataclass(frozen=True)
class InvoiceTotals:
    """Everything an invoice shows and declares, in cents.

    ``total_cents`` is what the client pays (IRPF withheld); ``fiscal_total_cents`` is
    VERI*FACTU's ImporteTotal (bases + cuotas, IRPF left out) and ``tax_total_cents`` its
    CuotaTotal (IVA + recargo).
    """

    lines: tuple[int, ...]
    groups: tuple[TaxGroup, ...]
    subtotal_cents: int
    iva_cents: int
    surcharge_cents: int
    irpf_bp: int
    irpf_cents: int
    total_cents: int
    fiscal_total_cents: int
    tax_total_cents: int
    line_groups: tuple[int, ...] = ()  # the index in ``groups`` of each line's group


def _operation_type(iva_type: str, cause: str) -> str:
    if iva_type == INVERSION_SUJETO_PASIVO:
        return "S2"
    if iva_type in CAUSES:
        return cause
    return "S1"


def _group(
    iva_type: str, cause: str, tobacco: bool, regime: str, base: int, surcharge: bool
) -> TaxGroup:
    rate = TAX_RATES_BP[iva_type]
    surcharge_rate = 0
    if surcharge:
        surcharge_rate = TOBACCO_SURCHARGE_BP if tobacco else SURCHARGE_RATES_BP.get(iva_type, 0)
    return TaxGroup(
        iva_type=iva_type,
        cause=cause,
        base_cents=base,
        rate_bp=rate,
        iva_cents=share_cents(base, rate),
        surcharge_rate_bp=surcharge_rate,
        surcharge_cents=share_cents(base, surcharge_rate),
        operation_type=_operation_type(iva_type, cause),
        regime_type=regime or _regime(cause, surcharge_rate),
        tax_type=TAX_TYPES[iva_type],
    )


def _regime(cause: str, surcharge_rate: int) -> str:
    """The ClaveRegimen of a group: exports exempt under E2/E3 are declared under 02, which
    AEAT requires (errores.properties 1199); recargo under 18; the rest under 01."""
    if cause in EXPORT_CAUSES:
        return REGIME_EXPORT
    return REGIME_SURCHARGE if surcharge_rate else REGIME_GENERAL


def compute_totals(
    lines: Sequence[LineInput],
    *,
    irpf_bp: int = 0,
    surcharge: bool = False,
    rectificativa: bool = False,
) -> InvoiceTotals:
    """The totals of an invoice.

    ``irpf_bp`` is withheld on the subtotal (every base, whatever its IVA type).
    ``surcharge`` is set when the client is under recargo de equivalencia; its tobacco lines then
    carry 1.75 % in a group of their own (without it, ``tobacco`` changes nothing: the caller
    refuses that combination). Negative quantities
    and prices are accepted only when ``rectificativa`` is set. Groups keep the order in which
    their first line appears. No lines gives all-zero totals and no groups; whether an invoice
    may be issued like that is for the caller (VERI*FACTU needs 1–12 groups).
    """
    _require_bp(irpf_bp, "irpf_bp")
    _require_bool(surcharge, "surcharge")
    _require_bool(rectificativa, "rectificativa")
    amounts: list[int] = []
    line_keys: list[tuple[str, str, bool, str]] = []
    bases: dict[tuple[str, str, bool, str], int] = {}  # insertion order = first appearance
    for index, line in enumerate(lines):
        if not isinstance(line, LineInput):
            raise TypeError(f"lines[{index}] must be a LineInput, got {type(line).__name__}")
        if not rectificativa:
            for field in ("quantity", "unit_price"):
                value = getattr(line, field)
                if value < 0:
                    raise ValueError(
                        f"lines[{index}].{field} is negative ({value}); "
                        "negative amounts are allowed only in a rectificativa"
                    )
        amount = line.amount_cents
        amounts.append(amount)
        key = (line.iva_type, line.cause, line.tobacco and surcharge, line.regime)
        bases[key] = bases.get(key, 0) + amount
        line_keys.append(key)

    keys = list(bases)
    groups = tuple(_group(*key, base, surcharge) for key, base in bases.items())
    subtotal = sum(amounts)
    iva = sum(g.iva_cents for g in groups)
    surcharge_total = sum(g.surcharge_cents for g in groups)
    irpf = share_cents(subtotal, irpf_bp)
    fiscal_total = subtotal + iva + surcharge_total
    return InvoiceTotals(
        lines=tuple(amounts),
        groups=groups,
        subtotal_cents=subtotal,
        iva_cents=iva,
        surcharge_cents=surcharge_total,
        irpf_bp=irpf_bp,
        irpf_cents=irpf,
        total_cents=fiscal_total - irpf,
        fiscal_total_cents=fiscal_total,
        tax_total_cents=iva + surcharge_total,
        line_groups=tuple(keys.index(key) for key in line_keys),
    )


def percent(bp: int) -> Decimal:
    """A rate in basis points as a percentage with two places: 520 → ``Decimal("5.20")``.

    For the XML and the v1 API (TipoImpositivo, TipoRecargoEquivalencia); exact, no rounding.
    """
    _require_int(bp, "bp")
    return Decimal(bp).scaleb(-2)


def group_thousands(digits: str) -> str:
    """A run of digits grouped the Spanish way: ``"1234567"`` → ``"1.234.567"``."""
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return ".".join(parts)


def format_euros(cents: int) -> str:
    """Cents in Spanish format: 121000 → ``1.210,00 €``, -500 → ``-5,00 €``.

    Built by hand rather than through the locale module, whose output depends on the locales
    installed on the machine.
    """
    _require_int(cents, "cents")
    euros, rest = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}{group_thousands(str(euros))},{rest:02d} €"


def format_percent(bp: int) -> str:
    """A rate for people: 2100 → ``21 %``, 520 → ``5,2 %``, 50 → ``0,5 %``."""
    _require_int(bp, "bp")
    text = f"{percent(bp):f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} %"
