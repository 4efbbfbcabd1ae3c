"""The system identity: the SistemaInformatico block every record and event states.

The software (producer name and NIF, NombreSistemaInformatico, IdSistemaInformatico,
Version) is the deployment's, set once by the operator (``FACTU_SIF_*``, checked when the
settings load: ``factu.env.sistema_informatico``) and read when a record or an event is
built; the installation (:mod:`verifactu.installations`) adds its NumeroInstalacion.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from verifactu.models import ComputerSystem
from verifactu.xml import SistemaInformatico


@dataclass(frozen=True)
class Software:
    producer_name: str
    producer_nif: str
    name: str
    system_id: str
    version: str


def software() -> Software:
    """The deployment's SistemaInformatico, as the settings say now."""
    return Software(
        producer_name=settings.FACTU_SIF_PRODUCER_NAME,
        producer_nif=settings.FACTU_SIF_PRODUCER_NIF,
        name=settings.FACTU_SIF_NAME,
        system_id=settings.FACTU_SIF_ID,
        version=settings.FACTU_SIF_VERSION,
    )


def sistema_informatico(system: ComputerSystem, *, multiple_taxpayers: bool) -> SistemaInformatico:
    """The SistemaInformatico of a record or event built now on ``system``'s installation: the
    deployment's software (:func:`software`), the installation's NumeroInstalacion.

    ``multiple_taxpayers`` is ``Chain.multiple_taxpayers`` of the record's chain, read under
    its lock (IndicadorMultiplesOT). TipoUsoPosibleSoloVerifactu is N on every record: Factu
    can run NO VERI*FACTU (SPEC §5), whatever mode this taxpayer runs.
    """
    sif = software()
    return SistemaInformatico(
        nombre_razon=sif.producer_name,
        nif=sif.producer_nif,
        nombre_sistema=sif.name,
        id_sistema=sif.system_id,
        version=sif.version,
        numero_instalacion=system.installation_number,
        solo_verifactu="N",
        multi_ot="S" if system.multi_taxpayer_capable else "N",
        multiples_ot="S" if multiple_taxpayers else "N",
    )
