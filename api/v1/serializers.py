"""Serializers of the VERI*FACTU API (seed 003): snake_case, ``Decimal`` amounts.

They only shape and type the payload; AEAT's rules are checked by the engine
(``verifactu.rules``), whose problems come back per field with the AEAT code.
"""

from __future__ import annotations

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from api.v1.fields import AmountField, RateField
from factu.iban import normalize_iban
from factu.models import Taxpayer
from factu.nif import normalize_nif, validate_nif
from factu.text import no_control_characters
from verifactu import installations
from verifactu.facts import BreakdownFacts, InvoiceFacts, InvoiceRef, rate_to_bp, to_cents
from verifactu.models import ComputerSystem


def Text(max_length: int, **kwargs) -> serializers.CharField:  # noqa: N802 - a field factory
    kwargs.setdefault("validators", [no_control_characters])
    return serializers.CharField(max_length=max_length, **kwargs)


def regime_field(**kwargs) -> serializers.RegexField:
    """A ClaveRegimen: two digits ("01")."""
    return serializers.RegexField(
        r"^[0-9]{2}$", error_messages={"invalid": 'Two digits, like "01".'}, **kwargs
    )


def nif_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=20, **kwargs)


@extend_schema_serializer(component_name="V1Taxpayer")
class TaxpayerSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(read_only=True)
    nif = nif_field()
    name = Text(120)
    verifactu_mode = serializers.ChoiceField(
        choices=Taxpayer.VerifactuMode.choices, default=Taxpayer.VerifactuMode.VERIFACTU
    )
    iban = serializers.CharField(
        max_length=50,
        required=False,
        allow_blank=True,
        default="",
        help_text="The account where the taxpayer collects, printed on its invoices: checked "
        "(check digits, national format) and stored compact, `ES9121000418450200051332`.",
    )
    created_at = serializers.DateTimeField(read_only=True)

    class Meta:
        model = Taxpayer
        fields = ["id", "nif", "name", "verifactu_mode", "iban", "created_at"]

    def validate_nif(self, value: str) -> str:
        try:
            return validate_nif(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate_iban(self, value: str) -> str:
        try:
            return normalize_iban(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


def _fixed(help_text: str) -> serializers.CharField:
    return serializers.CharField(read_only=True, help_text=f"{help_text} {FIXED}")


FIXED = (
    "Fixed: the deployment's software, the same on every record of every account; a value "
    "sent is accepted and ignored."
)


@extend_schema_serializer(component_name="V1ComputerSystem")
class ComputerSystemSerializer(serializers.ModelSerializer):
    """An installation, in the account, of the deployment's SistemaInformatico.

    The software (producer, name, IdSistemaInformatico, version) is the operator's; the
    NumeroInstalacion is derived from the account and the ``label``, so no other account can
    ever send records on it. Fields that used to be declared are still accepted, and ignored.
    """

    id = serializers.UUIDField(read_only=True)
    label = serializers.CharField(
        required=False,
        max_length=installations.LABEL_MAX_LENGTH,
        help_text="The installation's name in the account, unique in it: 1 to 40 letters, "
        "digits, '.', '_' or '-'. Made up (`sif-` and 8 hex digits) when left out; `factu` "
        "is the installation of the invoices issued in Factu itself.",
    )
    producer_name = _fixed("NombreRazon of the producer.")
    producer_nif = _fixed("NIF of the producer.")
    name = _fixed("NombreSistemaInformatico.")
    system_id = _fixed("IdSistemaInformatico (two characters).")
    version = _fixed("Version.")
    installation_number = serializers.CharField(
        read_only=True,
        help_text="NumeroInstalacion: the account's id and the label "
        "(`<account uuid>-<label>`), unique to this account. Computer systems created before "
        "this rule keep the number their records were sent with. A value sent is accepted "
        "and ignored.",
    )
    only_verifactu = serializers.BooleanField(
        read_only=True,
        help_text="TipoUsoPosibleSoloVerifactu of the records: always false, since Factu "
        "also runs NO VERI*FACTU. Computed; a value sent is ignored.",
    )
    multi_taxpayer_capable = serializers.BooleanField(default=True)
    multiple_taxpayers = serializers.BooleanField(
        read_only=True,
        help_text="IndicadorMultiplesOT of the next record: whether this installation keeps "
        "the chains of more than one taxpayer now. Computed; a value sent is ignored.",
    )
    created_at = serializers.DateTimeField(read_only=True)

    class Meta:
        model = ComputerSystem
        fields = [
            "id",
            "label",
            "producer_name",
            "producer_nif",
            "name",
            "system_id",
            "version",
            "installation_number",
            "only_verifactu",
            "multi_taxpayer_capable",
            "multiple_taxpayers",
            "created_at",
        ]

    def validate_label(self, value: str) -> str:
        try:
            return installations.check_label(value)
        except installations.LabelRefused as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, instance: ComputerSystem) -> dict:
        """What the records state now: the deployment's software, not what a row of before
        the namespacing was declared with."""
        data = super().to_representation(instance)
        sif = installations.software()
        data.update(
            producer_name=sif.producer_name,
            producer_nif=sif.producer_nif,
            name=sif.name,
            system_id=sif.system_id,
            version=sif.version,
        )
        return data

    def create(self, validated_data: dict) -> ComputerSystem:
        return installations.create_installation(
            validated_data["account"],
            validated_data.get("label"),
            multi_taxpayer_capable=validated_data.get("multi_taxpayer_capable", True),
        )


class InputSerializer(serializers.Serializer):
    """A serializer whose leaf fields are copied, not rebuilt, for each instance.

    DRF deep-copies the declared fields for every instance, which re-runs each field's
    ``__init__`` (validators, choices, messages): for the ~45 fields of an invoice that was
    most of the validation's time on the hottest write (bench/README.md). Validation never
    changes a bound leaf field, so a shallow copy, bound afresh to this instance, behaves
    the same; fields that hold bound children (nested serializers, list fields) are still
    deep-copied, so no child ever points at another instance.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            name: (
                copy.deepcopy(field)
                if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child")
                else _shallow_copy(field)
            )
            for name, field in self._declared_fields.items()
        }


def _shallow_copy(field: serializers.Field) -> serializers.Field:
    clone = object.__new__(type(field))  # what copy.copy does, without its generic protocol
    clone.__dict__.update(field.__dict__)
    return clone


@extend_schema_serializer(component_name="V1BreakdownInput")
class BreakdownSerializer(InputSerializer):
    tax_type = serializers.ChoiceField(choices=["01", "02", "03", "05"], default="01")
    regime_type = regime_field(required=False, allow_blank=True)
    operation_type = serializers.ChoiceField(
        choices=["S1", "S2", "N1", "N2", "E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8"]
    )
    base_amount = AmountField()
    tax_rate = RateField(required=False, allow_null=True)
    tax_amount = AmountField(required=False, allow_null=True)
    surcharge_rate = RateField(required=False, allow_null=True)
    surcharge_amount = AmountField(required=False, allow_null=True)
    base_cost_amount = AmountField(
        required=False,
        allow_null=True,
        help_text="BaseImponibleACoste: the cost base of a regime 06 line (VAT group, advanced "
        "level), where it is required; also allowed on IPSI (02) and other-tax (05) lines. "
        "Under regime 06 the line's tax_amount is this base × tax_rate.",
    )


@extend_schema_serializer(component_name="V1InvoiceRefInput")
class InvoiceRefSerializer(InputSerializer):
    invoice_number = Text(60)
    invoice_date = serializers.DateField()


@extend_schema_serializer(component_name="V1InvoiceInput")
class InvoiceInputSerializer(InputSerializer):
    """POST /api/v1/invoices: every field of the seed, plus the rectification fields."""

    taxpayer_id = serializers.UUIDField(required=False)
    computer_system_id = serializers.UUIDField(required=False)
    invoice_number = Text(60, trim_whitespace=False)
    invoice_date = serializers.DateField()
    invoice_type = serializers.ChoiceField(choices=["F1", "F2", "F3", "R1", "R2", "R3", "R4", "R5"])
    description = Text(500)
    breakdown = BreakdownSerializer(many=True, allow_empty=False, max_length=12)
    total_amount = AmountField(
        help_text="ImporteTotal: exactly the sum of the breakdown's base_amount, tax_amount and "
        "surcharge_amount, to the cent. It excludes any IRPF withholding (never part of the "
        "record: what the client pays net of IRPF is not this amount). Not cross-checked when "
        "a line is under regime 03, 05, 06, 08 or 09 (AEAT's exemption)."
    )
    total_tax_amount = AmountField(
        help_text="CuotaTotal: exactly the sum of the breakdown's tax_amount and "
        "surcharge_amount (IRPF excluded)."
    )
    irpf_rate = RateField(
        required=False,
        allow_null=True,
        help_text="The IRPF withholding rate in percent (15.00), printed on the PDF beside "
        "irpf_amount, which it requires. Never part of the billing record.",
    )
    irpf_amount = AmountField(
        required=False,
        allow_null=True,
        help_text="The IRPF withheld, in euros (150.00). The PDF prints it as the retención "
        "and total_amount − irpf_amount as the amount to pay. Never part of the billing "
        "record: total_amount, ImporteTotal and the QR's amount exclude it. Not checked "
        "against irpf_rate (a withholding may apply to part of the bases); negative only on a "
        "rectifying invoice; kept as registered by a subsanación.",
    )
    operation_date = serializers.DateField(required=False, allow_null=True)
    issued_by = serializers.ChoiceField(
        choices=["issuer", "recipient", "third_party"], required=False
    )
    third_party_nif = nif_field(required=False, allow_blank=True)
    third_party_name = Text(120, required=False, allow_blank=True)
    regime_types = serializers.ListField(child=regime_field(), required=False, max_length=3)
    reverse_charge = serializers.BooleanField(required=False, default=False)
    recipient_nif = nif_field(required=False, allow_blank=True)
    recipient_name = Text(120, required=False, allow_blank=True)
    recipient_country = serializers.RegexField(
        r"^[A-Za-z]{2}$",
        required=False,
        allow_blank=True,
        error_messages={"invalid": "A two-letter country code (ISO 3166-1), like FR."},
        help_text="CodigoPais of a recipient identified by recipient_id: one of AEAT's codes "
        "(the CountryType2 list of SuministroInformacion.xsd; Greece is GR, not EL).",
    )
    recipient_id_type = serializers.ChoiceField(
        choices=["02", "03", "04", "05", "06", "07"], required=False
    )
    recipient_id = Text(20, required=False, allow_blank=True)
    not_subject_amount = AmountField(
        required=False,
        allow_null=True,
        help_text="The amount not subject to tax, with not_subject_cause (OT: N1, RL: N2). AEAT "
        "records it only as the BaseImponibleOimporteNoSujeto of N1/N2 breakdown lines: "
        "without such a line one is added with this base; with one, their bases must add up "
        "to it. Like every base it is part of total_amount.",
    )
    not_subject_cause = serializers.ChoiceField(choices=["RL", "OT"], required=False)
    rectification_type = serializers.ChoiceField(choices=["S", "I"], required=False)
    rectified_invoices = InvoiceRefSerializer(many=True, required=False, max_length=1000)
    replaced_invoices = InvoiceRefSerializer(many=True, required=False, max_length=1000)
    rectification_base = AmountField(required=False, allow_null=True)
    rectification_tax = AmountField(required=False, allow_null=True)
    rectification_surcharge = AmountField(
        required=False,
        allow_null=True,
        help_text="CuotaRecargoRectificado: the recargo de equivalencia of the rectified invoice, "
        "for a rectification by substitution (S); rectification_tax is then its IVA alone.",
    )

    def validate(self, data: dict) -> dict:
        errors: dict[str, list[str]] = {}
        regimes = data.get("regime_types") or []
        for i, line in enumerate(data["breakdown"]):
            regime = line.get("regime_type") or ""
            if regime and regimes and regime not in regimes:
                errors[f"breakdown.{i}.regime_type"] = [
                    f"{regime} contradicts regime_types {regimes}."
                ]
        if data.get("reverse_charge") and not any(
            line["operation_type"] == "S2" for line in data["breakdown"]
        ):
            errors["reverse_charge"] = ["Reverse charge needs at least one S2 breakdown line."]
        if (data.get("not_subject_amount") is None) != ("not_subject_cause" not in data):
            errors["not_subject_cause"] = [
                "Give not_subject_amount and not_subject_cause together."
            ]
        errors.update(_irpf_problems(data))
        if errors:
            raise serializers.ValidationError(errors)
        return data


def _irpf_problems(data: dict) -> dict[str, list[str]]:
    amount = data.get("irpf_amount")
    if amount is None:
        if data.get("irpf_rate") is not None:
            return {"irpf_amount": ["Required with irpf_rate: the amount withheld."]}
        return {}
    if amount < 0 and not data["invoice_type"].startswith("R"):
        return {"irpf_amount": ["Must not be negative outside a rectifying invoice (R1–R5)."]}
    if abs(amount) > abs(data["total_amount"]):
        return {"irpf_amount": ["Cannot exceed total_amount."]}
    return {}


# What identifies the invoice and its chain: never changed by a subsanación.
FIXED_IN_SUBSANACION = ("taxpayer_id", "computer_system_id", "invoice_number", "invoice_date")


@extend_schema_serializer(component_name="V1SubsanacionInput")
class SubsanacionInputSerializer(InvoiceInputSerializer):
    """POST /api/v1/invoices/{id}/subsanacion: the create body's fiscal fields, each optional
    (an absent field keeps its value, an array given replaces the whole array), and why.

    Only the shape is checked here; the merged invoice is validated as a create body is.
    """

    taxpayer_id = None
    computer_system_id = None
    invoice_number = None
    invoice_date = None
    irpf_rate = None  # not a fact of the record: a subsanación keeps it as registered
    irpf_amount = None
    reason = Text(500, help_text="Why the record is corrected (kept in the invoice's history).")
    matches_delivered_invoice = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Required (true) to change the recipient's identity or any amount: the "
        "invoice as delivered to the client already carried the corrected data. Otherwise the "
        "invoice itself is wrong, and a rectifying invoice (R1–R5) corrects it.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for name, field in fields.items():
            if name != "reason":
                field.required = False
        return fields

    @property
    def fiscal_changes(self) -> dict:
        """The fiscal fields the body gives, as sent (merged over the current ones)."""
        return {
            name: self.initial_data[name]
            for name in self.fields
            if name in self.initial_data and name not in ("reason", "matches_delivered_invoice")
        }

    def validate(self, data: dict) -> dict:
        errors: dict[str, list[str]] = {}
        for name in FIXED_IN_SUBSANACION:
            if name in self.initial_data:
                errors[name] = [
                    "Never changes in a subsanación: cancel the invoice and register a new one."
                ]
        for name in ("irpf_rate", "irpf_amount"):
            if name in self.initial_data:
                errors[name] = [
                    "Not part of the billing record: a subsanación keeps it as registered."
                ]
        if "breakdown" in self.initial_data:
            for name in ("total_amount", "total_tax_amount"):
                if name not in self.initial_data:
                    errors[name] = ["Required when the breakdown changes."]
        if errors:
            raise serializers.ValidationError(errors)
        return data


def facts_from(data: dict, taxpayer: Taxpayer) -> InvoiceFacts:
    """Engine facts from a validated POST /api/v1/invoices payload."""
    regimes = tuple(data.get("regime_types") or ())
    default_regime = regimes[0] if regimes else "01"
    lines = []
    for line in data["breakdown"]:
        # IPSI lines take the regime only when regime_types names one (never made up).
        needs_regime = line["tax_type"] in ("01", "03") or (line["tax_type"] == "02" and regimes)
        lines.append(
            BreakdownFacts(
                tax_type=line["tax_type"],
                regime_type=line.get("regime_type") or (default_regime if needs_regime else None),
                operation_type=line["operation_type"],
                base_amount=line["base_amount"],
                tax_rate=line.get("tax_rate"),
                tax_amount=line.get("tax_amount"),
                surcharge_rate=line.get("surcharge_rate"),
                surcharge_amount=line.get("surcharge_amount"),
                base_cost_amount=line.get("base_cost_amount"),
            )
        )
    not_subject = data.get("not_subject_amount")
    if not_subject is not None:
        operation = "N2" if data.get("not_subject_cause") == "RL" else "N1"
        if not any(line.operation_type == operation for line in lines):
            lines.append(
                BreakdownFacts(
                    regime_type=default_regime, operation_type=operation, base_amount=not_subject
                )
            )
    return InvoiceFacts(
        issuer_nif=taxpayer.nif,
        issuer_name=taxpayer.name,
        invoice_number=data["invoice_number"],
        invoice_date=data["invoice_date"],
        invoice_type=data["invoice_type"],
        description=data["description"],
        breakdown=tuple(lines),
        total_amount=data["total_amount"],
        total_tax_amount=data["total_tax_amount"],
        operation_date=data.get("operation_date"),
        issued_by=data.get("issued_by", ""),
        third_party_nif=normalize_nif(data.get("third_party_nif", "")),
        third_party_name=data.get("third_party_name", ""),
        regime_types=regimes,
        reverse_charge=data.get("reverse_charge", False),
        recipient_nif=normalize_nif(data.get("recipient_nif", "")),
        recipient_name=data.get("recipient_name", ""),
        recipient_country=data.get("recipient_country", "").upper(),
        recipient_id_type=data.get("recipient_id_type", ""),
        recipient_id=data.get("recipient_id", ""),
        not_subject_amount=not_subject,
        not_subject_cause=data.get("not_subject_cause", ""),
        rectification_type=data.get("rectification_type", ""),
        rectified_invoices=tuple(
            InvoiceRef(r["invoice_number"], r["invoice_date"])
            for r in data.get("rectified_invoices", [])
        ),
        replaced_invoices=tuple(
            InvoiceRef(r["invoice_number"], r["invoice_date"])
            for r in data.get("replaced_invoices", [])
        ),
        rectification_base=data.get("rectification_base"),
        rectification_tax=data.get("rectification_tax"),
        rectification_surcharge=data.get("rectification_surcharge"),
    )


def irpf_from(data: dict) -> dict:
    """The fiscal invoice's IRPF columns from a validated create payload ({} without IRPF)."""
    amount = data.get("irpf_amount")
    if amount is None:
        return {}
    return {
        "irpf_amount_cents": to_cents(amount),
        "irpf_rate_bp": rate_to_bp(data.get("irpf_rate")),
    }


@extend_schema_serializer(component_name="V1RequerimientoRequest")
class RequerimientoInputSerializer(serializers.Serializer):
    """The AEAT's reference of the requerimiento, and the dates of the records it asks for."""

    ref = serializers.CharField(max_length=18)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and start > end:
            raise serializers.ValidationError({"date_to": ["Must not be before date_from."]})
        return attrs
