"""The invoice PDF (invoicing/pdf.py): Spanish formats, the parties, the QR tributario.

No database: the renderer takes a plain InvoiceDocument. The PDF is read back with pypdf
(text, positions, font sizes) and rasterised with pypdfium2; the QR is decoded by an
independent decoder (zxing-cpp) back to the exact URL, and measured on the raster.
"""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import pypdf
import pypdfium2
import pytest
import zxingcpp

from invoicing.pdf import (
    MIMETYPE,
    InvoiceDocument,
    InvoiceLine,
    InvoiceRenderer,
    Party,
    QRCodeFlowable,
    TaxGroup,
    _format_euros,
    format_date,
    format_percent,
    format_quantity,
    invoice_filename,
    render_invoice,
)

ROOT = Path(__file__).resolve().parent.parent
MM = 72 / 25.4  # points per millimetre
DPI = 200
QR_URL = (
    "https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR"
    "?nif=89890001K&numserie=2026-A-001&fecha=13-03-2026&importe=1210.00"
)

ISSUER = Party("Estudio Sol SL", "89890001K", address_lines=("Calle Mayor 1, 2º", "28013 Madrid"))
CLIENT = Party(
    "Cliente Ñandú SA",
    "A28045631",
    address_lines=("Avda. de la Constitución 5", "41001 Sevilla"),
)


def make_doc(**overrides) -> InvoiceDocument:
    """One page: 1.000,00 € at 21 % IVA, 15 % IRPF withheld: total 1.060,00 €."""
    values = {
        "number": "2026-A-001",
        "issue_date": date(2026, 3, 13),
        "due_date": date(2026, 4, 12),
        "operation_date": date(2026, 2, 28),
        "issuer": ISSUER,
        "client": CLIENT,
        "lines": (
            InvoiceLine("Consultoría fiscal trimestral", 100, 50000, 50000, tax_label="21 %"),
            InvoiceLine("Horas de desarrollo", 150, 20000, 30000, tax_label="21 %"),
            InvoiceLine("Diseño de logotipo", 200, 12500, 20000, 2000, tax_label="21 %"),
        ),
        "tax_groups": (TaxGroup("IVA 21 %", 100000, 2100, 21000),),
        "subtotal_cents": 100000,
        "iva_cents": 21000,
        "irpf_rate_bp": 1500,
        "irpf_cents": 15000,
        "total_cents": 106000,
        "payment_method": "Transferencia bancaria",
        "iban": "ES9121000418450200051332",
        "notes": "Gracias por su confianza.",
        "qr_url": QR_URL,
        "verifactu": True,
    }
    values.update(overrides)
    return InvoiceDocument(**values)


def long_doc(count: int = 150, **overrides) -> InvoiceDocument:
    lines = tuple(
        InvoiceLine(f"Partida número {i:03d} del proyecto", 100, 1000, 1000, tax_label="21 %")
        for i in range(1, count + 1)
    )
    base = 1000 * count
    values = {
        "lines": lines,
        "tax_groups": (TaxGroup("IVA 21 %", base, 2100, base * 21 // 100),),
        "subtotal_cents": base,
        "iva_cents": base * 21 // 100,
        "irpf_rate_bp": 0,
        "irpf_cents": 0,
        "total_cents": base * 121 // 100,
    }
    values.update(overrides)
    return make_doc(**values)


def flat(text: str) -> str:
    return " ".join(text.split())


def pages_text(data: bytes) -> list[str]:
    return [flat(page.extract_text()) for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def text_runs(data: bytes, page: int = 0) -> list[tuple[str, float, float, float]]:
    """(text, x, y, font size) of each text run on a page, in PDF points (y up)."""
    runs = []

    def visit(text, cm, tm, _font, size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            runs.append((text.strip(), x, y, size * abs(tm[3] * cm[3] or 1)))

    pypdf.PdfReader(io.BytesIO(data)).pages[page].extract_text(visitor_text=visit)
    return runs


def run_of(runs, needle: str):
    found = [r for r in runs if needle in r[0]]
    assert found, f"{needle!r} not drawn; runs: {[r[0] for r in runs]}"
    return found[0]


def rasterise(data: bytes, page: int = 0):
    """The page as a greyscale PIL image at DPI, and its height in points."""
    pdf = pypdfium2.PdfDocument(data)
    try:
        pdf_page = pdf[page]
        height = pdf_page.get_height()
        image = pdf_page.render(scale=DPI / 72).to_pil().convert("L")
    finally:
        pdf.close()
    return image, height


def decode(image):
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


@pytest.fixture(scope="module")
def rendered() -> tuple[str, str, bytes]:
    return InvoiceRenderer().render(make_doc())


# -- formats -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (121000, "1.210,00 €"),
        (106000, "1.060,00 €"),
        (0, "0,00 €"),
        (5, "0,05 €"),
        (99999, "999,99 €"),
        (123456789, "1.234.567,89 €"),
        (-15000, "-150,00 €"),
    ],
)
def test_format_euros(cents, text):
    assert _format_euros(cents) == text
    assert InvoiceRenderer().format_euros(cents) == text


def test_quantities_percentages_and_dates():
    assert format_quantity(150) == "1,5"
    assert format_quantity(100) == "1"
    assert format_quantity(125) == "1,25"
    assert format_quantity(123456) == "1.234,56"
    assert format_quantity(-50) == "-0,5"
    assert format_percent(2100) == "21 %"
    assert format_percent(520) == "5,2 %"
    assert format_percent(175) == "1,75 %"
    assert format_date(date(2026, 3, 5)) == "05/03/2026"
    assert format_date(None) == ""


@pytest.mark.parametrize(
    ("number", "filename"),
    [
        ("2026-A-001", "factura-2026-A-001.pdf"),
        ("2026/A 001", "factura-2026-A-001.pdf"),
        ("../../etc/passwd", "factura-etc-passwd.pdf"),
        ("Año&Nº 7", "factura-Ano-No-7.pdf"),
        ("", "factura-borrador.pdf"),
        ("/", "factura-borrador.pdf"),
    ],
)
def test_filename_is_sanitised(number, filename):
    assert invoice_filename(number) == filename


def test_document_is_frozen_and_takes_lists():
    doc = make_doc(lines=[InvoiceLine("x", 100, 1, 1)], tax_groups=[])
    assert isinstance(doc.lines, tuple) and isinstance(doc.tax_groups, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.number = "other"  # type: ignore[misc]


def test_module_imports_no_django():
    code = "import sys, invoicing.pdf; assert 'django' not in sys.modules, 'django imported'"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


# -- a one-page issued invoice -----------------------------------------------------------


def test_render_returns_filename_mimetype_and_pdf(rendered):
    filename, mimetype, data = rendered
    assert filename == "factura-2026-A-001.pdf"
    assert mimetype == MIMETYPE == "application/pdf"
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert render_invoice(make_doc()) == rendered  # deterministic (invariant) output


def test_one_page_text_has_amounts_parties_number_and_dates(rendered):
    pages = pages_text(rendered[2])
    assert len(pages) == 1
    text = pages[0]
    for expected in [
        # issuer and client
        "Estudio Sol SL",
        "NIF: 89890001K",
        "Calle Mayor 1, 2º",
        "28013 Madrid",
        "Cliente Ñandú SA",
        "NIF: A28045631",
        "Avda. de la Constitución 5",
        # title, number, dates dd/mm/yyyy
        "Factura",
        "Número: 2026-A-001",
        "Fecha de expedición: 13/03/2026",
        "Fecha de operación: 28/02/2026",
        "Fecha de vencimiento: 12/04/2026",
        # lines: quantities and prices, discount
        "Consultoría fiscal trimestral",
        "1,5",
        "200,00 €",
        "300,00 €",
        "20 %",
        # breakdown and totals
        "IVA 21 %",
        "1.000,00 €",
        "210,00 €",
        "Retención IRPF 15 %",
        "-150,00 €",
        "1.060,00 €",
        # payment and notes
        "Transferencia bancaria",
        "ES91 2100 0418 4502 0005 1332",
        "Gracias por su confianza.",
        # the QR block and the page count
        "QR tributario:",
        "VERI*FACTU",
        "Factura verificable en la sede electrónica de la AEAT",
        "Página 1 de 1",
    ]:
        assert expected in text, expected
    assert "ANULADA" not in text


def test_the_total_is_the_last_totals_row(rendered):
    runs = text_runs(rendered[2])
    label = next(r for r in runs if r[0] == "Total")
    amount = run_of(runs, "1.060,00 €")
    assert abs(label[2] - amount[2]) < 1  # same row
    irpf = run_of(runs, "-150,00 €")
    assert amount[2] < irpf[2]  # below the withholding


def test_several_tax_rates_recargo_and_exemption():
    doc = make_doc(
        tax_groups=(
            TaxGroup("IVA 21 %", 50000, 2100, 10500, 520, 2600),
            TaxGroup("IVA 10 %", 30000, 1000, 3000, 140, 420),
            TaxGroup("Exento (E1)", 20000, None, 0),
        ),
        iva_cents=13500,
        recargo_cents=3020,
        irpf_rate_bp=0,
        irpf_cents=0,
        total_cents=116520,
    )
    text = pages_text(render_invoice(doc)[2])[0]
    for expected in [
        "IVA 21 %",
        "500,00 €",
        "105,00 €",
        "5,2 %",
        "26,00 €",
        "IVA 10 %",
        "300,00 €",
        "30,00 €",
        "1,4 %",
        "4,20 €",
        "Exento (E1)",
        "Recargo de equivalencia",
        "30,20 €",
        "135,00 €",
        "1.165,20 €",
    ]:
        assert expected in text, expected
    assert "IRPF" not in text


def test_rectificativa_names_the_rectified_invoice():
    doc = make_doc(
        title="Factura rectificativa",
        number="2026-R-001",
        rectified_number="2026-A-001",
        rectified_date=date(2026, 3, 13),
    )
    filename, _, data = render_invoice(doc)
    text = pages_text(data)[0]
    assert filename == "factura-2026-R-001.pdf"
    assert "Factura rectificativa" in text
    assert "Rectifica la factura 2026-A-001 de 13/03/2026" in text


def test_simplified_invoice_without_client():
    doc = make_doc(title="Factura simplificada", client=None)
    text = pages_text(render_invoice(doc)[2])[0]
    assert "Factura simplificada" in text
    assert "Cliente" not in text
    assert "1.060,00 €" in text


def test_foreign_client_id_label():
    client = Party("Acme GmbH", "DE123456789", "NIF-IVA", ("Hauptstraße 1", "10115 Berlin"))
    text = pages_text(render_invoice(make_doc(client=client))[2])[0]
    assert "NIF-IVA: DE123456789" in text
    assert "Hauptstraße 1" in text


def test_user_text_is_printed_literally_not_as_markup():
    line = InvoiceLine("Tornillos <b>M8</b> & tuercas <br/>", 100, 100, 100, tax_label="21 %")
    text = pages_text(render_invoice(make_doc(lines=(line,), notes="a < b & c"))[2])[0]
    assert "Tornillos <b>M8</b> & tuercas <br/>" in text
    assert "a < b & c" in text


def test_cancelled_invoice_is_marked():
    text = pages_text(render_invoice(make_doc(cancelled=True))[2])[0]
    assert "FACTURA ANULADA" in text
    assert "QR tributario:" in text  # AEAT's URL then reports it as annulled


def test_subclass_hook_adds_to_the_footer():
    class Branded(InvoiceRenderer):
        def draw_footer(self, doc):
            return [*super().draw_footer(doc), self.para("Inscrita en el Registro Mercantil")]

    text = pages_text(Branded().render(make_doc())[2])[0]
    assert "Inscrita en el Registro Mercantil" in text


# -- the QR tributario -------------------------------------------------------------------


def test_qr_decodes_to_the_exact_url_with_level_m(rendered):
    image, _ = rasterise(rendered[2])
    codes = decode(image)
    assert [code.text for code in codes] == [QR_URL]
    assert codes[0].ec_level == "M"


@pytest.mark.parametrize(
    "url",
    [
        # QR doc §4: "&" in the number is percent-encoded
        "https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR"
        "?nif=89890001K&numserie=12345678%26G33&fecha=01-01-2024&importe=241.4",
        # the longest NumSerieFactura (60 characters), a production NO VERI*FACTU base
        "https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQRNoVerifactu"
        "?nif=B12345674&numserie="
        + "2026%2FSERIE-LARGA-"
        + "9" * 43
        + "&fecha=31-12-2026&importe=-123456789012.99",
    ],
)
def test_qr_round_trip_and_size_for_long_urls(url):
    data = render_invoice(make_doc(qr_url=url))[2]
    image, _ = rasterise(data)
    assert [code.text for code in decode(image)] == [url]
    flowable = QRCodeFlowable(url)
    assert 30 * MM <= flowable.symbol_size <= 40 * MM
    assert 30 * MM <= flowable.width == flowable.height <= 40 * MM
    assert flowable.quiet_zone >= 2 * MM


def test_qr_flowable_is_30_to_40_mm_with_quiet_zone():
    renderer = InvoiceRenderer()
    block = renderer.draw_qr(make_doc())
    qr = [f for f in block if isinstance(f, QRCodeFlowable)]
    assert len(qr) == 1
    width, height = qr[0].wrap(500, 500)
    assert width == height
    assert 30 * MM <= qr[0].symbol_size <= 40 * MM
    assert 30 * MM <= width <= 40 * MM
    assert qr[0].quiet_zone >= 2 * MM
    assert qr[0].url == QR_URL


def test_qr_printed_size_quiet_zone_and_place_on_page_one(rendered):
    data = rendered[2]
    image, page_height = rasterise(data)
    (code,) = decode(image)
    pos = code.position
    xs = [p.x for p in (pos.top_left, pos.top_right, pos.bottom_left, pos.bottom_right)]
    ys = [p.y for p in (pos.top_left, pos.top_right, pos.bottom_left, pos.bottom_right)]
    px_per_mm = DPI / 25.4
    side_mm = ((max(xs) - min(xs)) / px_per_mm, (max(ys) - min(ys)) / px_per_mm)
    for side in side_mm:
        assert 30 <= side <= 40, side_mm

    # At least 2 mm of white on all four sides of the symbol.
    margin = round(2 * px_per_mm)
    left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
    band = [
        (left - margin, top - margin, right + margin, top - 2),  # above
        (left - margin, bottom + 2, right + margin, bottom + margin),  # below
        (left - margin, top, left - 2, bottom),  # left
        (right + 2, top, right + margin, bottom),  # right
    ]
    for box in band:
        assert image.crop(box).getextrema()[0] >= 200, box

    # Top-left of page 1: "QR tributario:" above it, the legend below it, both before the
    # invoice's number (PDF y grows upwards; the raster's y downwards).
    qr_top = page_height - top / (DPI / 72)
    qr_bottom = page_height - bottom / (DPI / 72)
    assert left / px_per_mm < 105  # left half of the A4 page
    assert qr_top > page_height - 60 * MM  # near the top
    runs = text_runs(data)
    label, legend = run_of(runs, "QR tributario:"), run_of(runs, "VERI*FACTU")
    number = run_of(runs, "2026-A-001")
    assert label[2] > qr_top
    assert legend[2] < qr_bottom
    assert number[2] < legend[2] < qr_bottom
    assert all(r[2] < qr_bottom for r in runs if r[0] == "Factura" or "Cliente" in r[0])

    # The QR texts are at least as large as the invoice data.
    data_size = max(run_of(runs, needle)[3] for needle in ("Horas de desarrollo", "300,00 €"))
    assert label[3] >= data_size
    assert legend[3] >= data_size
    assert run_of(runs, "sede electrónica")[3] >= data_size


def test_no_verifactu_has_qr_but_no_legend():
    data = render_invoice(make_doc(verifactu=False))[2]
    text = pages_text(data)[0]
    assert "QR tributario:" in text
    assert "VERI*FACTU" not in text
    assert "sede electrónica" not in text
    assert [code.text for code in decode(rasterise(data)[0])] == [QR_URL]


def test_draft_has_no_qr_and_no_legend():
    data = render_invoice(make_doc(qr_url=None))[2]
    text = pages_text(data)[0]
    assert "QR tributario" not in text
    assert "VERI*FACTU" not in text
    assert "sede electrónica" not in text
    assert "1.060,00 €" in text
    assert decode(rasterise(data)[0]) == []
    assert InvoiceRenderer().draw_qr(make_doc(qr_url=None)) == []


# -- long invoices -----------------------------------------------------------------------


def test_150_lines_flow_over_pages_with_numbers_and_repeated_header():
    data = render_invoice(long_doc(150))[2]
    pages = pages_text(data)
    total = len(pages)
    assert total >= 3
    for number, text in enumerate(pages, start=1):
        assert f"Página {number} de {total}" in text
        if "Partida número" in text:  # the header row repeats on every page of lines
            assert "Descripción Cantidad Precio unit. IVA Importe" in text
    assert sum("Partida número" in text for text in pages) >= 3
    joined = " ".join(pages)
    for i in (1, 75, 150):
        assert f"Partida número {i:03d} del proyecto" in joined
    assert joined.count("Partida número") == 150
    last_lines = max(i for i, text in enumerate(pages) if "Partida número 150" in text)
    assert "1.815,00 €" in " ".join(pages[last_lines:])  # 150 × 10,00 € + 21 %
    assert "1.815,00 €" not in " ".join(pages[:last_lines])
    # The QR only once, at the top of the first page.
    assert sum("QR tributario:" in text for text in pages) == 1
    assert "QR tributario:" in pages[0]
    assert [code.text for code in decode(rasterise(data, 0)[0])] == [QR_URL]
    assert decode(rasterise(data, 1)[0]) == []


def test_a_v1_pdf_printed_after_a_mode_switch_keeps_the_legend_of_its_record(
    register, taxpayer, signing_certificate
):
    """The VERI*FACTU legend says how the record was generated: a PDF printed after the
    taxpayer moved to NO VERI*FACTU keeps it for a record generated before, and the other
    way round."""
    from factu.models import Taxpayer
    from invoicing.documents import document_for as document_for_fiscal_invoice

    invoice = register().invoice
    Taxpayer.objects.filter(pk=taxpayer.pk).update(
        verifactu_mode=Taxpayer.VerifactuMode.NO_VERIFACTU
    )
    invoice.refresh_from_db()
    assert document_for_fiscal_invoice(invoice).verifactu is True

    later = register(invoice_number="F-2026-043")
    assert later.record.no_verifactu  # generated under NO VERI*FACTU
    Taxpayer.objects.filter(pk=taxpayer.pk).update(verifactu_mode=Taxpayer.VerifactuMode.VERIFACTU)
    later.invoice.refresh_from_db()
    assert document_for_fiscal_invoice(later.invoice).verifactu is False
