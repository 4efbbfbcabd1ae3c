"""The recipients of invoices.

A ``Client`` belongs to one ``Taxpayer`` (the ``account`` is copied from it for fast scoping).
It is identified either by a Spanish NIF or, following the AEAT's ``IDOtro`` block, by a
country, a document type and a number. Validation lives in :meth:`Client.clean` so that the
form, the services and the API all enforce the same rules; see ``clients/services.py``.

A client with invoices is never deleted (the invoicing app's ``Invoice.client`` is a
``PROTECT`` foreign key with ``related_name="invoices"``): it is archived instead.
"""

from __future__ import annotations

import re
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import ProtectedError

from clients.countries import COUNTRY_CODES
from factu.addresses import address_line
from factu.models import Account, Taxpayer
from factu.nif import normalize_nif, validate_nif
from factu.text import normalize_search, refreshing_search_text

SPAIN = "ES"
# Spanish postal codes: five digits, the first two a province from 01 to 52.
SPANISH_POSTAL_CODE = re.compile(r"^(0[1-9]|[1-4]\d|5[0-2])\d{3}$")
# A DIR3 code (the directory of public administrations' units): one or two letters for the
# kind of administration, then digits, 9 or 10 characters ("L01280796", "GE0000001").
DIR3_CODE = re.compile(r"^(?=.{9,10}$)[A-Z]{1,2}\d+$")
DIR3_FIELDS = ("dir3_oficina_contable", "dir3_organo_gestor", "dir3_unidad_tramitadora")
INVOICES_RELATION = "invoices"

MESSAGES = {
    "country": "Use un código de país de dos letras válido (ES, PT, FR, DE…).",
    "nif_required": "Indique el NIF del cliente (o el tipo 07 si no figura en el censo).",
    "nif_abroad": "El NIF español solo se indica para clientes de España; para un cliente de "
    "otro país indique el tipo de documento y su número.",
    "nif_with_07": "Con el tipo 07 (no censado) deje el NIF en blanco y escriba el número en "
    "«Número de identificación».",
    "id_type_spain": "Un cliente de España se identifica con su NIF (o con el tipo 07 si no "
    "está censado). Si se identifica con un documento extranjero, indique el país que lo expidió.",
    "id_type_required": "Indique el tipo de documento del cliente extranjero.",
    "id_type_07_abroad": "El tipo 07 (no censado) solo se usa para clientes de España.",
    "id_type_missing": "Indique el tipo de documento de este número de identificación.",
    "foreign_id_required": "Indique el número de identificación del cliente.",
    "foreign_id_unused": "El número de identificación solo se usa sin NIF; bórrelo o vacíe el NIF.",
    "postal_code": "El código postal español tiene 5 cifras (por ejemplo 28001).",
    "nif_taken": "Ya hay un cliente de este contribuyente con este NIF: {name}.",
    "nif_taken_archived": "Ya hay un cliente archivado de este contribuyente con este NIF: "
    "{name}. Restáurelo en lugar de crear otro.",
    "has_invoices": "No se puede eliminar un cliente con facturas: archívelo.",
    "dir3_code": "Un código DIR3 son una o dos letras seguidas de cifras, 9 o 10 caracteres "
    "en total (por ejemplo L01280796).",
    "dir3_incomplete": "Indique también este código: FACe pide los tres (oficina contable, "
    "órgano gestor y unidad tramitadora) o ninguno.",
}


class IdType(models.TextChoices):
    """AEAT's ``IDType`` of the ``IDOtro`` block (list L7)."""

    NIF_IVA = "02", "02 · NIF-IVA (número de IVA intracomunitario)"
    PASSPORT = "03", "03 · Pasaporte"
    RESIDENCE_ID = "04", "04 · Documento oficial de identificación del país de residencia"
    RESIDENCE_CERTIFICATE = "05", "05 · Certificado de residencia"
    OTHER = "06", "06 · Otro documento probatorio"
    NOT_CENSUSED = "07", "07 · No censado"


class EInvoiceFormat(models.TextChoices):
    """The structured invoice a client asks to receive with the PDF."""

    UBL = "ubl", "UBL 2.1 (Peppol BIS Billing 3.0)"
    FACTURAE = "facturae", "Facturae 3.2.2"


def _squash(value: str) -> str:
    return " ".join((value or "").split())


class Client(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="clients", editable=False
    )
    taxpayer = models.ForeignKey(
        Taxpayer, on_delete=models.PROTECT, related_name="clients", editable=False
    )
    name = models.CharField("nombre o razón social", max_length=120)
    nif = models.CharField(
        "NIF",
        max_length=9,
        blank=True,
        help_text="DNI, NIE o NIF de entidad, para clientes de España.",
    )
    country = models.CharField(
        "país", max_length=2, default=SPAIN, help_text="Código de dos letras: ES, PT, FR…"
    )
    id_type = models.CharField(
        "tipo de documento",
        max_length=2,
        choices=IdType.choices,
        blank=True,
        help_text="Solo si el cliente no tiene NIF español.",
    )
    foreign_id = models.CharField(
        "número de identificación",
        max_length=20,
        blank=True,
        help_text="El número del documento indicado (para el NIF-IVA, con el prefijo del país).",
    )
    email = models.EmailField("correo electrónico", blank=True)
    address = models.CharField("dirección", max_length=200, blank=True)
    postal_code = models.CharField("código postal", max_length=10, blank=True)
    city = models.CharField("municipio", max_length=100, blank=True)
    province = models.CharField("provincia", max_length=100, blank=True)
    recargo_equivalencia = models.BooleanField(
        "recargo de equivalencia",
        default=False,
        help_text="Comerciante minorista en recargo de equivalencia.",
    )
    einvoice_format = models.CharField(
        "factura electrónica",
        max_length=10,
        choices=EInvoiceFormat.choices,
        blank=True,
        help_text="El formato que el cliente pide adjunto al enviarle una factura por correo.",
    )
    # DIR3 codes of a public administration (the FACe directory): where a Facturae goes.
    dir3_oficina_contable = models.CharField("oficina contable (DIR3)", max_length=10, blank=True)
    dir3_organo_gestor = models.CharField("órgano gestor (DIR3)", max_length=10, blank=True)
    dir3_unidad_tramitadora = models.CharField(
        "unidad tramitadora (DIR3)", max_length=10, blank=True
    )
    archived_at = models.DateTimeField("archivado", null=True, blank=True, editable=False)
    search_text = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["taxpayer", "nif"],
                condition=~models.Q(nif=""),
                name="client_unique_nif_per_taxpayer",
                violation_error_message="Ya hay un cliente de este contribuyente con este NIF.",
            )
        ]
        indexes = [models.Index(fields=["taxpayer", "archived_at", "name"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.identity})" if self.identity else self.name

    def save(self, *args, **kwargs) -> None:
        if self.taxpayer_id is not None and self.account_id is None:
            self.account_id = self.taxpayer.account_id
        self.search_text = self.build_search_text()
        super().save(*args, **refreshing_search_text(kwargs))

    @property
    def address_line(self) -> str:
        """The address on one line (:func:`factu.addresses.address_line`)."""
        return address_line(self)

    # -- identity ------------------------------------------------------------------------

    @property
    def identity(self) -> str:
        """The identifier shown beside the name: the NIF, or country, type and number."""
        if self.nif:
            return self.nif
        if self.foreign_id:
            return f"{self.country} {self.id_type} {self.foreign_id}".strip()
        return ""

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    # -- validation ----------------------------------------------------------------------

    def normalize(self) -> None:
        """Tidy what people type: spaces, case, the ``ES`` prefix of a NIF."""
        self.name = _squash(self.name)
        self.country = (self.country or "").strip().upper()
        self.nif = normalize_nif(self.nif) if (self.nif or "").strip() else ""
        self.id_type = (self.id_type or "").strip()
        self.foreign_id = "".join((self.foreign_id or "").split()).upper()
        self.email = (self.email or "").strip()
        self.address = _squash(self.address)
        self.postal_code = "".join((self.postal_code or "").split()).upper()
        self.city = _squash(self.city)
        self.province = _squash(self.province)
        for field in DIR3_FIELDS:
            setattr(self, field, "".join((getattr(self, field) or "").split()).upper())

    def clean_fields(self, exclude=None) -> None:
        # Normalise first, so that "ES 12345678-Z" is not refused for being too long.
        self.normalize()
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        errors: dict[str, list] = {}

        def add(field: str, error) -> None:
            errors.setdefault(field, []).append(error)

        if self.country not in COUNTRY_CODES:
            add("country", ValidationError(MESSAGES["country"], code="country"))
        elif self.country == SPAIN:
            self._clean_spanish_identity(add)
        else:
            self._clean_foreign_identity(add)
        if self.foreign_id and not self.id_type and "id_type" not in errors:
            add("id_type", ValidationError(MESSAGES["id_type_missing"], code="missing"))
        postal_code_ok = SPANISH_POSTAL_CODE.match(self.postal_code)
        if self.country == SPAIN and self.postal_code and not postal_code_ok:
            add("postal_code", ValidationError(MESSAGES["postal_code"], code="postal_code"))
        self._clean_dir3(add)
        if self.nif and "nif" not in errors:
            clash = self._nif_clash()
            if clash is not None:
                key = "nif_taken_archived" if clash.is_archived else "nif_taken"
                add("nif", ValidationError(MESSAGES[key].format(name=clash.name), code="unique"))
        if errors:
            raise ValidationError(errors)

    def _clean_dir3(self, add) -> None:
        """A public administration's DIR3 codes: each of the right shape, all three or none."""
        given = [field for field in DIR3_FIELDS if getattr(self, field)]
        for field in given:
            code = getattr(self, field)
            # A code longer than the column gets the length's message from clean_fields.
            if len(code) <= self._meta.get_field(field).max_length and not DIR3_CODE.match(code):
                add(field, ValidationError(MESSAGES["dir3_code"], code="dir3_code"))
        if given:
            for field in (f for f in DIR3_FIELDS if f not in given):
                add(field, ValidationError(MESSAGES["dir3_incomplete"], code="dir3_incomplete"))

    def _clean_spanish_identity(self, add) -> None:
        if self.id_type == IdType.NOT_CENSUSED:
            # The number is a Spanish NIF the AEAT's census does not know: its format must hold.
            if self.nif:
                add("nif", ValidationError(MESSAGES["nif_with_07"], code="nif_with_07"))
            if not self.foreign_id:
                add("foreign_id", ValidationError(MESSAGES["foreign_id_required"], "missing"))
            else:
                try:
                    self.foreign_id = validate_nif(self.foreign_id)
                except ValidationError as error:
                    add("foreign_id", error)
            return
        if self.id_type:
            add("id_type", ValidationError(MESSAGES["id_type_spain"], code="id_type_spain"))
            return
        if not self.nif:
            add("nif", ValidationError(MESSAGES["nif_required"], code="missing"))
            return
        try:
            self.nif = validate_nif(self.nif)
        except ValidationError as error:
            add("nif", error)
        if self.foreign_id:
            add("foreign_id", ValidationError(MESSAGES["foreign_id_unused"], code="unused"))

    def _clean_foreign_identity(self, add) -> None:
        if self.nif:
            add("nif", ValidationError(MESSAGES["nif_abroad"], code="nif_abroad"))
        if not self.id_type:
            add("id_type", ValidationError(MESSAGES["id_type_required"], code="missing"))
        elif self.id_type == IdType.NOT_CENSUSED:
            add("id_type", ValidationError(MESSAGES["id_type_07_abroad"], code="id_type_07"))
        if not self.foreign_id:
            add("foreign_id", ValidationError(MESSAGES["foreign_id_required"], code="missing"))

    def _nif_clash(self) -> Client | None:
        if self.taxpayer_id is None:
            return None
        others = Client.objects.filter(taxpayer_id=self.taxpayer_id, nif=self.nif)
        return others.exclude(pk=self.pk).order_by("archived_at", "name").first()

    # -- persistence ---------------------------------------------------------------------

    def build_search_text(self) -> str:
        parts = [self.name, self.nif, self.foreign_id, self.email, self.city]
        return normalize_search(" ".join(p for p in parts if p))

    def invoices_queryset(self):
        """The invoices of this client, or ``None`` while no invoicing relation exists.

        The invoicing app declares ``Invoice.client = ForeignKey(Client,
        related_name="invoices", on_delete=PROTECT)``; until then there is nothing to find.
        """
        related = getattr(self, INVOICES_RELATION, None)
        if related is None or not hasattr(related, "exists"):
            return None
        return related.all()

    def has_invoices(self) -> bool:
        invoices = self.invoices_queryset()
        return invoices is not None and invoices.exists()

    def delete(self, *args, **kwargs):
        """Delete a client that has never been invoiced; one with invoices is archived."""
        if self.has_invoices():
            raise ProtectedError(MESSAGES["has_invoices"], set(self.invoices_queryset()[:10]))
        return super().delete(*args, **kwargs)
