"""A CSV row of the clients import, read into an unsaved, validated :class:`Client`."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from clients.models import SPAIN, Client
from factu.models import Taxpayer
from transfers.csvfile import parse_bool


def validation_messages(error: ValidationError) -> dict[str, list[str]]:
    """The messages of ``error`` by field (``__all__`` for those of no field)."""
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"__all__": error.messages}


CLIENT_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("nombre", "name", "razon_social", "nombre_o_razon_social", "cliente"),
    "nif": ("nif", "cif", "dni", "nif_cif", "vat_number", "tax_id"),
    "email": ("email", "correo", "correo_electronico", "e_mail", "mail"),
    "address": ("direccion", "address", "domicilio"),
    "city": ("ciudad", "city", "municipio", "localidad", "poblacion"),
    "postal_code": ("cp", "postal_code", "codigo_postal", "zip", "postcode"),
    "province": ("provincia", "province", "state", "region"),
    "country": ("pais", "country", "codigo_pais", "country_code"),
    "id_type": ("tipo_id", "id_type", "tipo_documento", "tipo_de_documento"),
    "foreign_id": (
        "id_extranjero",
        "foreign_id",
        "numero_identificacion",
        "numero_de_identificacion",
    ),
    "recargo_equivalencia": (
        "recargo",
        "recargo_equivalencia",
        "recargo_de_equivalencia",
        "surcharge",
    ),
}


class ExistingNifs:
    """The taxpayer's clients by NIF, read once, for the NIF-clash rule of ``Client.clean``.

    ``Client.clean`` asks ``self._nif_clash()`` for the client already holding the NIF (one
    query per row); an import gives each new client this in-memory answer instead, so 10,000
    rows cost one query. Same preference as the model: an active client over an archived
    one, then by name. Should the model rename the hook, the shadow is simply not used and
    the query runs: slower, never wrong.
    """

    def __init__(self, taxpayer: Taxpayer):
        self.by_nif: dict[str, Client] = {}
        clients = Client.objects.filter(taxpayer=taxpayer).exclude(nif="")
        for client in clients.only("id", "nif", "name", "archived_at"):
            known = self.by_nif.get(client.nif)
            if known is None or (client.archived_at is None, known.name) > (
                known.archived_at is None,
                client.name,
            ):
                self.by_nif[client.nif] = client

    def attach(self, client: Client) -> None:
        client._nif_clash = lambda: self.by_nif.get(client.nif)


def client_from_row(
    taxpayer: Taxpayer, values: dict[str, str], existing: ExistingNifs | None = None
) -> Client:
    """An unsaved client with the row's values, normalised and validated like
    :func:`clients.services.create_client` does; raises its ``ValidationError``."""
    data: dict[str, object] = {k: v for k, v in values.items() if k != "recargo_equivalencia"}
    data["country"] = (values.get("country") or "").strip() or SPAIN
    id_type = (values.get("id_type") or "").strip()
    data["id_type"] = id_type.zfill(2) if id_type.isdigit() else id_type
    try:
        data["recargo_equivalencia"] = parse_bool(values.get("recargo_equivalencia", ""))
    except ValueError as exc:
        raise ValidationError({"recargo_equivalencia": [str(exc)]}) from None
    client = Client(taxpayer=taxpayer, account_id=taxpayer.account_id)
    for name, value in data.items():
        setattr(client, name, value)
    if existing is not None:
        existing.attach(client)
    # Left out, as they would cost queries per row and cannot fail here: the foreign keys
    # (the job's own account and taxpayer), the unique primary key (a fresh UUID) and the
    # partial unique constraint on the NIF (Client.clean checks the same clash, and the
    # database still enforces it on write).
    client.full_clean(
        exclude=["account", "taxpayer"], validate_unique=False, validate_constraints=False
    )
    client.search_text = client.build_search_text()
    return client
