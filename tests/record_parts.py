"""Parts of the RegistroAlta records the XML and AEAT-client tests build: Factu as the
SistemaInformatico, the demo obligado (Empresa Demo SL) and a 100 € line at 21 %."""

from __future__ import annotations

from verifactu.xml import BreakdownLine, Obligado, SistemaInformatico

DEMO_NIF = "89890001K"
DEMO_NAME = "Empresa Demo SL"
DEMO_OBLIGADO = Obligado(DEMO_NAME, DEMO_NIF)
LINE_21 = BreakdownLine(
    impuesto="01",
    clave_regimen="01",
    calificacion="S1",
    tipo_impositivo="21.00",
    base="100.00",
    cuota="21.00",
)


def factu_sistema(numero_instalacion: str) -> SistemaInformatico:
    """Factu (``FC`` 1.0.0, by Factu Software SL) installed as ``numero_instalacion``."""
    return SistemaInformatico(
        nombre_razon="Factu Software SL",
        nif="B12345674",
        nombre_sistema="Factu",
        id_sistema="FC",
        version="1.0.0",
        numero_instalacion=numero_instalacion,
    )
