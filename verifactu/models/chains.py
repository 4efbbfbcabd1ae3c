"""Where a record sits: the account's installations of the SistemaInformatico and AEAT's
chains (one per obligado NIF and installation), whose row is the lock appenders take."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from factu.models import Account


class ComputerSystem(models.Model):
    """An installation, inside one account, of the deployment's SistemaInformatico.

    The software every record states (producer, name, IdSistemaInformatico, version) is the
    deployment's, from settings (:func:`verifactu.installations.software`). What is the
    account's is the installation: ``installation_number`` (NumeroInstalacion) is derived
    from the account's id and the installation's ``label``
    (:func:`verifactu.installations.installation_number`), so no two accounts can ever send
    records of one (NIF, installation) to the AEAT. Rows from before that rule keep the
    number their chains were opened with (migration 0017). ``producer_name`` to ``version``
    are what the installation was created with, kept as history; records do not read them.

    Two of its flags are not declared but true of every record Factu builds:
    ``TipoUsoPosibleSoloVerifactu`` is N (Factu also runs NO VERI*FACTU) and
    ``IndicadorMultiplesOT`` says whether the installation keeps the chains of more than one
    obligado when the record is built (``Chain.multiple_taxpayers``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="computer_systems")
    label = models.CharField("etiqueta", max_length=40)
    producer_name = models.CharField("productor", max_length=120, blank=True)
    producer_nif = models.CharField("NIF del productor", max_length=9, blank=True)
    name = models.CharField("nombre del sistema", max_length=30, blank=True)
    system_id = models.CharField("IdSistemaInformatico", max_length=2, blank=True)
    version = models.CharField("versión", max_length=50, blank=True)
    installation_number = models.CharField("número de instalación", max_length=100)
    multi_taxpayer_capable = models.BooleanField("multi obligado posible", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # TipoUsoPosibleSoloVerifactu of every record: N, since Factu can run NO VERI*FACTU.
    only_verifactu = False

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "label"], name="computer_system_unique_label"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} (instalación {self.installation_number})"

    @property
    def installation(self) -> dict[str, str]:
        """AEAT's key of the installation, the same values that key its chains: the
        deployment's producer NIF and IdSistemaInformatico, and this NumeroInstalacion."""
        return {
            "producer_nif": settings.FACTU_SIF_PRODUCER_NIF,
            "system_id": settings.FACTU_SIF_ID,
            "installation_number": self.installation_number,
        }

    @property
    def multiple_taxpayers(self) -> bool:
        """Whether the installation keeps chains of more than one obligado now (one query):
        what ``IndicadorMultiplesOT`` of its next record says."""
        return Chain.objects.filter(**self.installation, multiple_taxpayers=True).exists()


class Chain(models.Model):
    """AEAT's chain: one per obligado NIF and SIF installation, keyed by those values.

    Keying by values rather than by rows means a chain cannot fork. Installation numbers are
    namespaced by account (:mod:`verifactu.installations`), so a NIF registered in two
    accounts has a chain in each, on different installations, and a chain is only ever
    reached by the account that opened it. The row is also the lock appenders take.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="chains")
    issuer_nif = models.CharField(max_length=9)
    issuer_name = models.CharField(max_length=120, blank=True)
    producer_nif = models.CharField(max_length=9)
    system_id = models.CharField(max_length=2)
    installation_number = models.CharField(max_length=100)
    length = models.PositiveIntegerField(default=0)
    last_huella = models.CharField(max_length=64, blank=True)
    # No index: nothing looks a chain up by its head, and without one the update that moves
    # the head at every append (the trigger of migration 0008) is a HOT update, leaving no
    # dead entries in the chain's indexes.
    head = models.ForeignKey(
        "BillingRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # What the next record quotes of the head (RegistroAnterior: the NIF is the chain's and
    # the huella is last_huella), kept on the row appenders lock so appending reads no record.
    head_invoice_number = models.CharField(max_length=60, blank=True)
    head_invoice_date_text = models.CharField(max_length=10, blank=True)
    # The head's FechaHoraHusoGenRegistro: the next record's is never earlier
    # (verifactu.chains.generation_time), however long its appender waited for the lock.
    head_generated_at_text = models.CharField(max_length=25, blank=True)
    # The event log's head (NO VERI*FACTU), moved by the insert of each event (the trigger
    # of migration 0019), as the record head is: how many events the chain holds and the
    # last one's HuellaEvento. The verifier compares them with the log.
    events_length = models.PositiveIntegerField(default=0)
    last_event_huella = models.CharField(max_length=64, blank=True)
    # IndicadorMultiplesOT of the chain's records: the installation (producer NIF,
    # IdSistemaInformatico, NumeroInstalacion) keeps chains of more than one obligado. Set on
    # every chain of the installation when its second chain is opened (chains.lock_chain),
    # so a registration reads it with the row it locks anyway.
    multiple_taxpayers = models.BooleanField(default=False)
    # The next attempt: after the AEAT's TiempoEsperaEnvio, or the back-off after a fault.
    next_flush_at = models.DateTimeField(null=True, blank=True)
    flush_claimed_until = models.DateTimeField(null=True, blank=True)
    # A run of transient faults (verifactu.faults): since when, and the latest; both are
    # cleared by the next answer. Nullable, so adding them leaves SQLite's table (and the
    # trigger of 0008 that updates it) alone.
    faulting_since = models.DateTimeField(null=True, blank=True)
    last_fault_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issuer_nif", "producer_nif", "system_id", "installation_number"],
                name="chain_unique_key",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.issuer_nif} @ {self.producer_nif}/{self.system_id}/{self.installation_number}"
        )
