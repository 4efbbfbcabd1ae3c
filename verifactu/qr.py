"""The "QR tributario" of an invoice: AEAT's cotejo URL and its QR image (SPEC §2).

The four values must be the literals of the registered RegistroAlta (IDEmisorFactura,
NumSerieFactura, FechaExpedicionFactura, ImporteTotal) so that what the QR asks AEAT about is
exactly what AEAT holds. Pure Python: no Django; the environment is chosen by parameters.
"""

from __future__ import annotations

import io
from urllib.parse import urlencode

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathImage

__all__ = ["QR_BASES", "qr_base_url", "qr_png", "qr_svg", "qr_url"]

_PRE = "https://prewww2.aeat.es/wlpl/TIKE-CONT/"
_PRO = "https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/"

#: (production, verifactu) -> base URL
QR_BASES: dict[tuple[bool, bool], str] = {
    (False, True): _PRE + "ValidarQR",
    (False, False): _PRE + "ValidarQRNoVerifactu",
    (True, True): _PRO + "ValidarQR",
    (True, False): _PRO + "ValidarQRNoVerifactu",
}

# ISO/IEC 18004 asks for a 4-module quiet zone; AEAT's ≥2 mm margin is met by it at 30–40 mm.
_QUIET_ZONE = 4


def qr_base_url(*, production: bool = False, verifactu: bool = True) -> str:
    """Base of the cotejo URL: pre-production unless ``production``; NO VERI*FACTU variant."""
    return QR_BASES[(bool(production), bool(verifactu))]


def qr_url(
    nif: str,
    numserie: str,
    fecha: str,
    importe: str,
    *,
    production: bool = False,
    verifactu: bool = True,
) -> str:
    """The URL printed in the QR: ``<base>?nif=…&numserie=…&fecha=…&importe=…``.

    Takes the XML literals (``fecha`` as ``dd-mm-yyyy``, ``importe`` as written in
    ImporteTotal); values are percent-encoded as UTF-8 (``&`` -> ``%26``, ``/`` -> ``%2F``).
    """
    query = urlencode(
        (("nif", nif), ("numserie", numserie), ("fecha", fecha), ("importe", importe))
    )
    return f"{qr_base_url(production=production, verifactu=verifactu)}?{query}"


def _qr(url: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=_QUIET_ZONE, box_size=10)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str) -> bytes:
    """PNG image (error correction M, 4-module quiet zone) encoding ``url``."""
    buffer = io.BytesIO()
    _qr(url).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(url: str) -> bytes:
    """Standalone SVG (single path, error correction M, quiet zone) encoding ``url``."""
    buffer = io.BytesIO()
    _qr(url).make_image(image_factory=SvgPathImage).save(buffer)
    return buffer.getvalue()
