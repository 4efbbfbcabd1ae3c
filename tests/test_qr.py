"""QR tributario (SPEC §2): URL encoding, bases, and an independent decode of the image."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from verifactu.qr import qr_png, qr_svg, qr_url

ZBARIMG = shutil.which("zbarimg") or (
    "/usr/bin/zbarimg" if Path("/usr/bin/zbarimg").exists() else None
)


def test_official_example_encoding_section_4():
    assert qr_url("89890001K", "12345678&G33", "01-01-2024", "241.4") == (
        "https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR"
        "?nif=89890001K&numserie=12345678%26G33&fecha=01-01-2024&importe=241.4"
    )


def test_official_example_section_5():
    assert qr_url("89890001K", "12345678-G33", "01-09-2024", "241.4") == (
        "https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR"
        "?nif=89890001K&numserie=12345678-G33&fecha=01-09-2024&importe=241.4"
    )


@pytest.mark.parametrize(
    ("production", "verifactu", "base"),
    [
        (False, True, "https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR?"),
        (False, False, "https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQRNoVerifactu?"),
        (True, True, "https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQR?"),
        (True, False, "https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQRNoVerifactu?"),
    ],
)
def test_bases(production, verifactu, base):
    url = qr_url(
        "89890001K", "A1", "01-01-2025", "10.00", production=production, verifactu=verifactu
    )
    assert url == base + "nif=89890001K&numserie=A1&fecha=01-01-2025&importe=10.00"


def test_encoding_of_slash_space_and_ampersand():
    url = qr_url("89890001K", "2025/A 1&B", "01-01-2025", "1234.50")
    assert url.endswith("?nif=89890001K&numserie=2025%2FA+1%26B&fecha=01-01-2025&importe=1234.50")


def _zbar(png: bytes, tmp_path: Path) -> str:
    if ZBARIMG is None:
        reason = "zbarimg (Debian zbar-tools) is not installed: cannot decode the QR"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    image = tmp_path / "qr.png"
    image.write_bytes(png)
    result = subprocess.run(
        [ZBARIMG, "--quiet", "--raw", str(image)], capture_output=True, timeout=30, check=True
    )
    return result.stdout.decode("utf-8").rstrip("\n")


@pytest.mark.parametrize(
    "url",
    [
        qr_url("89890001K", "12345678&G33", "01-01-2024", "241.4"),
        qr_url("B12345674", "2025/A-000123", "31-12-2025", "-1234567.89", production=True),
        qr_url("89890001K", "X 1", "01-01-2025", "0.00", verifactu=False),
    ],
)
def test_png_decodes_back_to_the_exact_url(url, tmp_path):
    png = qr_png(url)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert _zbar(png, tmp_path) == url


def test_png_uses_error_correction_m_and_quiet_zone():
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(qr_png("https://example.test/x"))).convert("L")
    width, height = image.size
    assert width == height
    # The 4-module quiet zone (box 10 px) is blank all around.
    for x in range(width):
        for y in (0, 39, height - 1, height - 40):
            assert image.getpixel((x, y)) == 255
            assert image.getpixel((y, x)) == 255


def test_error_correction_level_is_m():
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    from verifactu import qr

    code = qr._qr("https://example.test/x")
    assert isinstance(code, qrcode.QRCode)
    assert code.error_correction == ERROR_CORRECT_M


def test_svg_is_well_formed_xml():
    svg = qr_svg(qr_url("89890001K", "12345678&G33", "01-01-2024", "241.4"))
    root = etree.fromstring(svg)
    assert etree.QName(root).localname == "svg"
    assert root.find("{http://www.w3.org/2000/svg}path") is not None
