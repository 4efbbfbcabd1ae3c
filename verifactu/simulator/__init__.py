"""AEAT VERI*FACTU SOAP simulator: an independent peer for tests and sandboxes.

Imports nothing from the rest of ``verifactu`` (nor Django): its hash, NIF checks and XML
reading are its own, so a bug in the application is caught instead of shared.
Start it with ``python -m verifactu.simulator`` or in-process with :func:`start_simulator`.
"""

from .huella import huella_alta, huella_anulacion
from .server import SOAP_PATH, Simulator, start_simulator

__all__ = ["SOAP_PATH", "Simulator", "huella_alta", "huella_anulacion", "start_simulator"]
