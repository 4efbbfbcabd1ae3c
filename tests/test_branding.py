"""A taxpayer's branding and what the invoice PDF prints (issue 19, point 7).

The logo is judged by its bytes (Pillow), never by its name; the accent colour is #RRGGBB.
The PDF of a real invoice carries the logo, the contact lines, the footer, the invoice's
description and, on a rectificativa, its mode and reason, while the QR stays at the top,
30–40 mm (measured in the PDF's own drawing operators and on its raster) and level M.
Screenshots of the rendered pages go to test-output/ (and /work/notes/shots-19/).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pypdf
import pypdfium2
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from pypdf.generic import ContentStream

from factu.branding import brand_for, check_logo, normalize_accent, save_branding
from factu.models import Branding
from invoicing import documents
from invoicing.services import DraftLine, rectify_invoice
from tests.browser import SCREENSHOTS, page, screenshot, sign_in  # noqa: F401 - the fixture
from tests.invoices import CONSULTING, ISSUE
from tests.test_pdf import DPI, MM, decode, pages_text, rasterise, run_of, text_runs

NOTES_SHOTS = Path(os.environ.get("FACTU_NOTES_SHOTS", "/work/notes/shots-19"))


def image_bytes(fmt: str, size=(300, 100), color="#1A5FB4") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def branded(taxpayer, media) -> Branding:
    return save_branding(
        taxpayer,
        contact_email="facturas@estudiosol.es",
        contact_phone="+34 600 123 456",
        footer_text="Estudio Sol SL · Registro Mercantil de Madrid, tomo 1234, hoja M-78901",
        accent_color="#1a5fb4",
        logo=upload("logo.png", image_bytes("PNG")),
    )


# -- the logo, by its bytes ----------------------------------------------------------------


def test_a_png_named_jpg_is_kept_as_the_png_it_is(taxpayer, media):
    branding = save_branding(taxpayer, logo=upload("logo.jpg", image_bytes("PNG"), "image/jpeg"))
    assert branding.logo_content_type == "image/png"
    assert branding.logo.name.startswith("branding/") and branding.logo.name.endswith(".png")
    assert (Path(media) / branding.logo.name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_jpeg_is_accepted(taxpayer, media):
    assert check_logo(upload("logo.jpeg", image_bytes("JPEG"))) == ("image/jpeg", "jpg")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("logo.gif", image_bytes("GIF"), "debe ser una imagen PNG o JPEG"),
        (
            "logo.png",
            b"hola, esto es texto y no una imagen\n" * 3,
            "debe ser una imagen PNG o JPEG",
        ),
        ("logo.png", image_bytes("PNG")[:60], "dañado o incompleto"),
        ("logo.png", image_bytes("PNG", size=(2400, 10)), "como mucho 2000 píxeles de lado"),
        ("logo.bmp", image_bytes("BMP"), "debe ser una imagen PNG o JPEG"),
    ],
    ids=["gif", "text-named-png", "truncated-png", "too-many-pixels", "bmp"],
)
def test_a_logo_that_is_not_a_sound_png_or_jpeg_is_refused(taxpayer, media, name, data, message):
    with pytest.raises(ValidationError) as excinfo:
        save_branding(taxpayer, logo=upload(name, data))
    assert message in excinfo.value.messages[0]
    assert not Branding.objects.exists()
    assert not any(Path(media).rglob("*.*")) if Path(media).exists() else True


def test_a_logo_over_1_mb_is_refused_whatever_its_pixels(taxpayer, media):
    noisy = Image.frombytes("RGB", (1000, 1000), os.urandom(3_000_000))
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 1024 * 1024
    with pytest.raises(ValidationError) as excinfo:
        check_logo(upload("logo.png", buffer.getvalue()))
    assert excinfo.value.messages == ["El logotipo ocupa demasiado: el máximo es 1 MB."]


def test_a_decompression_bomb_is_refused_before_it_is_decoded(taxpayer, media):
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")  # a few kB, 400 megapixels
    with pytest.raises(ValidationError) as excinfo:
        check_logo(upload("logo.png", bomb.getvalue()))
    assert "píxeles" in excinfo.value.messages[0]


# -- the accent colour ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"), [("#1a5fb4", "#1A5FB4"), (" #ABCDEF ", "#ABCDEF"), ("", "")]
)
def test_an_accent_colour_is_kept_as_upper_case_rrggbb(typed, kept):
    assert normalize_accent(typed) == kept


@pytest.mark.parametrize("typed", ["1A5FB4", "#12345", "#1234567", "#GGGGGG", "red", "#abc"])
def test_an_accent_colour_not_rrggbb_is_refused_in_spanish(typed):
    with pytest.raises(ValidationError) as excinfo:
        normalize_accent(typed)
    assert excinfo.value.messages == [
        "Escriba el color como #RRGGBB, con seis cifras hexadecimales (por ejemplo #1A5FB4)."
    ]


# -- the settings page ---------------------------------------------------------------------


def test_the_branding_page_saves_a_logo_and_shows_field_errors(
    client, owner, account, taxpayer, media, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    page_url = reverse("taxpayer_branding", args=[account.slug, taxpayer.pk])
    assert "Marca de Estudio Sol SL" in client.get(page_url).content.decode()

    refused = client.post(
        page_url,
        {
            "accent_color": "azul",
            "contact_email": "no-es-correo",
            "logo": upload("l.png", b"GIF89a..."),
        },
    )
    assert refused.status_code == 400
    errors = refused.context["form"].errors
    assert errors["accent_color"] == [
        "Escriba el color como #RRGGBB, con seis cifras hexadecimales (por ejemplo #1A5FB4)."
    ]
    assert errors["logo"] == ["El logotipo debe ser una imagen PNG o JPEG (su contenido no lo es)."]
    assert "contact_email" in errors
    assert not Branding.objects.exists()

    saved = client.post(
        page_url,
        {
            "accent_color": "#0b6e4f",
            "contact_email": "hola@estudiosol.es",
            "contact_phone": "910 000 000",
            "footer_text": "Gracias",
            "logo": upload("logo.jpg", image_bytes("JPEG")),
        },
    )
    assert saved.status_code == 302
    branding = Branding.objects.get(taxpayer=taxpayer)
    assert (branding.accent_color, branding.logo_content_type) == ("#0B6E4F", "image/jpeg")
    logo = client.get(reverse("taxpayer_logo", args=[account.slug, taxpayer.pk]))
    assert logo["Content-Type"] == "image/jpeg" and logo["X-Content-Type-Options"] == "nosniff"
    assert b"".join(logo.streaming_content)[:3] == b"\xff\xd8\xff"

    old = Path(media) / branding.logo.name
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page_url, {"remove_logo": "on", "accent_color": ""})
    branding.refresh_from_db()
    assert not branding.logo and not old.exists()
    assert client.get(reverse("taxpayer_logo", args=[account.slug, taxpayer.pk])).status_code == 404


def test_another_accounts_branding_and_logo_do_not_exist(
    client, owner, account, other_account, media
):
    foreign = other_account.taxpayers.get()
    save_branding(foreign, logo=upload("logo.png", image_bytes("PNG")), contact_email="a@b.es")
    client.force_login(owner)
    for name in ("taxpayer_branding", "taxpayer_logo"):
        assert client.get(reverse(name, args=[account.slug, foreign.pk])).status_code == 404
    response = client.post(
        reverse("taxpayer_branding", args=[account.slug, foreign.pk]), {"contact_email": "x@y.es"}
    )
    assert response.status_code == 404
    assert Branding.objects.get(taxpayer=foreign).contact_email == "a@b.es"


def test_a_viewer_cannot_change_the_branding(client, viewer, account, taxpayer, media):
    client.force_login(viewer)
    response = client.post(
        reverse("taxpayer_branding", args=[account.slug, taxpayer.pk]), {"accent_color": "#000000"}
    )
    assert response.status_code == 403 and not Branding.objects.exists()


# -- what the email code takes -------------------------------------------------------------


def test_brand_for_gives_the_reply_to_colour_and_logo(taxpayer, branded):
    brand = brand_for(taxpayer)
    assert brand.reply_to == "facturas@estudiosol.es"
    assert brand.accent_color == "#1A5FB4"
    assert brand.logo[:8] == b"\x89PNG\r\n\x1a\n" and brand.logo_content_type == "image/png"
    assert brand.contact_lines == ("facturas@estudiosol.es", "+34 600 123 456")


def test_brand_for_a_taxpayer_without_branding_has_only_defaults(taxpayer):
    brand = brand_for(taxpayer)
    assert (brand.reply_to, brand.logo, brand.footer, brand.accent_color) == (
        "",
        None,
        "",
        "#222222",
    )


# -- the PDF -------------------------------------------------------------------------------


def qr_symbol_from_operators(data: bytes) -> tuple[float, int]:
    """(module size in points, modules per side) of the QR as the PDF draws it: the scale
    ``cm`` before a run of ``re`` in module units, then one ``f``."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    operations = ContentStream(reader.pages[0].get_contents(), reader).operations
    for i, (operands, operator) in enumerate(operations):
        if operator != b"cm":
            continue
        a, b, c, d, e, f = (float(x) for x in operands)
        if not (a == d and b == c == 0 and e == f == 0 and 0.5 < a < 5):
            continue
        extent = 0
        for args, op in operations[i + 1 :]:
            if op == b"f":
                break
            if op == b"re":
                x, _, w, _ = (float(v) for v in args)
                extent = max(extent, int(x + w))
        if extent:
            return a, extent
    raise AssertionError("no QR symbol drawn")


def colour_page(data: bytes):
    pdf = pypdfium2.PdfDocument(data)
    try:
        return pdf[0].render(scale=110 / 72).to_pil().convert("RGB")
    finally:
        pdf.close()


def save_page(data: bytes, name: str) -> None:
    """Page 1 in colour, for a person to look at (test-output/ and the issue's notes)."""
    image = colour_page(data)
    for folder in (SCREENSHOTS, NOTES_SHOTS):
        folder.mkdir(parents=True, exist_ok=True)
        image.save(folder / f"{name}.png")


def test_the_pdf_prints_the_branding_and_description_and_keeps_the_qr(issued_with_branding):
    invoice = issued_with_branding
    _, mimetype, data = documents.render_pdf(invoice)
    save_page(data, "catalogue-branding-invoice-pdf")
    text = pages_text(data)[0]
    for expected in (
        "facturas@estudiosol.es",
        "+34 600 123 456",
        "Registro Mercantil de Madrid, tomo 1234, hoja M-78901",
        "Descripción de la factura: Consultoría de marzo",
        "QR tributario:",
        "VERI*FACTU",
        "Factura verificable en la sede electrónica de la AEAT",
    ):
        assert expected in text, expected

    # The logo is on the page once, in the top right corner (its blue, nowhere else).
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages[0].images) == 1
    colour = colour_page(data)
    scale = colour.width / (210 * MM)
    corner = colour.crop((int(120 * MM * scale), 0, colour.width, int(45 * MM * scale)))
    assert (26, 95, 180) in {rgb for _, rgb in corner.getcolors(1 << 20)}

    # The QR: decodes to the record's URL, level M, 30–40 mm in the PDF's operators and on
    # the raster, at the top-left of the page, above the title.
    module, modules = qr_symbol_from_operators(data)
    assert 30 <= module * modules / MM <= 40
    image, page_height = rasterise(data)
    (code,) = decode(image)
    assert code.text == invoice.fiscal_invoice.qr_url and code.ec_level == "M"
    xs = [p.x for p in (code.position.top_left, code.position.bottom_right)]
    ys = [p.y for p in (code.position.top_left, code.position.bottom_right)]
    px_per_mm = DPI / 25.4
    assert 30 <= (max(xs) - min(xs)) / px_per_mm <= 40
    assert min(xs) / px_per_mm < 105
    qr_bottom = page_height - max(ys) / (DPI / 72)
    runs = text_runs(data)
    assert run_of(runs, "QR tributario:")[2] > page_height - min(ys) / (DPI / 72)
    assert run_of(runs, "Factura")[2] < qr_bottom
    issuer = run_of(runs, "Estudio Sol SL")
    assert issuer[1] > 105 * MM  # the issuer balances the QR, on the right half
    assert issuer[2] > qr_bottom  # level with the QR, not under it


def test_a_rectificativa_prints_its_mode_in_words_and_its_reason(
    issued, rect_series, actor, media, taxpayer
):
    rectification = rectify_invoice(
        issued,
        series=rect_series,
        invoice_type="R1",
        rectification_type="I",
        lines=[
            DraftLine("Descuento no aplicado", quantity=100, unit_price=-10000, iva_type="general")
        ],
        description="Descuento por volumen no aplicado",
        issue_date=ISSUE,
        actor=actor,
    )
    data = documents.render_pdf(rectification)[2]
    save_page(data, "catalogue-branding-rectificativa-pdf")
    text = pages_text(data)[0]
    assert "Factura rectificativa" in text
    assert "Rectificación por diferencias" in text
    assert "Motivo de la rectificación: Descuento por volumen no aplicado" in text
    assert f"Rectifica la factura {issued.number}" in text


@pytest.fixture
def issued_with_branding(branded, draft, actor):
    from invoicing.services import issue_invoice

    return issue_invoice(
        draft(lines=(CONSULTING,), irpf_bp=1500, description="Consultoría de marzo"), actor=actor
    )


@pytest.mark.browser
@pytest.mark.slow
def test_browser_the_branding_page_takes_a_logo_and_fits_a_phone(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    taxpayer,
    media,
    tmp_path,
):
    logo = tmp_path / "logo.jpg"  # PNG bytes under a .jpg name: kept as the PNG it is
    logo.write_bytes(image_bytes("PNG", size=(240, 80)))
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}{reverse('taxpayer_list', args=[account.slug])}")
    page.get_by_role("link", name="Marca y PDF de Estudio Sol SL").click()
    page.get_by_label("Logotipo").set_input_files(str(logo))
    page.get_by_label("Correo de contacto").fill("facturas@estudiosol.es")
    page.get_by_label("Color de acento").fill("1a5fb4")
    page.get_by_role("button", name="Guardar").click()
    page.locator("#id_accent_color_error").get_by_text("Escriba el color como #RRGGBB").wait_for()
    page.get_by_label("Color de acento").fill("#1a5fb4")
    page.get_by_label("Logotipo").set_input_files(str(logo))
    page.get_by_role("button", name="Guardar").click()
    page.get_by_text("Marca de Estudio Sol SL guardada.").wait_for()
    assert (
        page.get_by_role("img", name="Logotipo actual de Estudio Sol SL").evaluate(
            "img => img.complete ? img.naturalWidth : new Promise(done => {"
            " img.onload = () => done(img.naturalWidth); img.onerror = () => done(0); })"
        )
        == 240
    )
    assert Branding.objects.get().logo_content_type == "image/png"
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"catalogue-branding-page-{width}")


def test_a_document_without_qr_puts_the_issuer_left_and_the_logo_right():
    """Drafts (and quotes, which reuse the renderer) have no QR: the issuer takes its place."""
    from invoicing.pdf import DocumentBranding, render_invoice
    from tests.test_pdf import make_doc

    branding = DocumentBranding(logo=image_bytes("PNG"), accent_color="#0B6E4F")
    data = render_invoice(make_doc(qr_url=None, branding=branding))[2]
    assert "QR tributario" not in pages_text(data)[0]
    issuer = run_of(text_runs(data), "Estudio Sol SL")
    assert issuer[1] < 30 * MM  # at the left margin
    colour = colour_page(data)
    scale = colour.width / (210 * MM)
    corner = colour.crop((int(120 * MM * scale), 0, colour.width, int(45 * MM * scale)))
    assert (26, 95, 180) in {rgb for _, rgb in corner.getcolors(1 << 20)}
