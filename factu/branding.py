"""A taxpayer's branding: the rules for its logo and colour, and what documents print of it.

The logo's type is decided by its bytes, through Pillow, never by its name or the type the
browser claims: only PNG and JPEG, at most :data:`LOGO_MAX_BYTES` and
:data:`LOGO_MAX_PIXELS` on a side, read and verified before it is stored (a PNG named
``.jpg`` is kept as the PNG it is; a GIF, or text named ``.png``, is refused). Pillow reads
the image's size from its header before decoding it, so a decompression bomb is refused
without being expanded.

:func:`brand_for` is what the PDF and the email code use: one frozen :class:`Brand`, with
the logo's bytes, the Reply-To address, the contact lines, the footer and the accent colour.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404
from PIL import Image, UnidentifiedImageError

from factu.models import Branding, Taxpayer
from factu.queue import after_commit

LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_PIXELS = 2000  # on the longer side
LOGO_TYPES = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg")}
ACCENT_PATTERN = re.compile(r"^#[0-9A-Fa-f]{6}$")
DEFAULT_ACCENT = "#222222"

MESSAGES = {
    "too_big": "El logotipo ocupa demasiado: el máximo es 1 MB.",
    "type": "El logotipo debe ser una imagen PNG o JPEG (su contenido no lo es).",
    "broken": "El logotipo está dañado o incompleto: no se puede leer como imagen.",
    "pixels": f"El logotipo es demasiado grande: como mucho {LOGO_MAX_PIXELS} píxeles de lado.",
    "accent": "Escriba el color como #RRGGBB, con seis cifras hexadecimales (por ejemplo #1A5FB4).",
}


@dataclass(frozen=True)
class Brand:
    """What a document shows of its taxpayer's branding (all optional but the accent)."""

    name: str
    accent_color: str = DEFAULT_ACCENT  # "#RRGGBB"
    logo: bytes | None = None
    logo_content_type: str = ""
    reply_to: str = ""  # the contact email: the Reply-To of mail sent for the taxpayer
    phone: str = ""
    footer: str = ""

    @property
    def contact_lines(self) -> tuple[str, ...]:
        return tuple(line for line in (self.reply_to, self.phone) if line)


def normalize_accent(value: str) -> str:
    """``"#1a5fb4"`` → ``"#1A5FB4"``; ``""`` stays empty; anything else is a ``ValidationError``."""
    value = (value or "").strip()
    if not value:
        return ""
    if not ACCENT_PATTERN.match(value):
        raise ValidationError(MESSAGES["accent"], code="accent")
    return value.upper()


def check_logo(upload: UploadedFile) -> tuple[str, str]:
    """``(content type, extension)`` of a valid logo, from its bytes; else ``ValidationError``."""
    if upload.size is not None and upload.size > LOGO_MAX_BYTES:
        raise ValidationError(MESSAGES["too_big"], code="too_big")
    upload.seek(0)
    data = upload.read(LOGO_MAX_BYTES + 1)
    upload.seek(0)
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(MESSAGES["too_big"], code="too_big")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            if kind not in LOGO_TYPES:
                raise ValidationError(MESSAGES["type"], code="type")
            if max(image.size) > LOGO_MAX_PIXELS:
                raise ValidationError(MESSAGES["pixels"], code="pixels")
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # verify() checks the structure; load() decodes the pixels
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        raise ValidationError(MESSAGES["pixels"], code="pixels") from None
    except UnidentifiedImageError:
        raise ValidationError(MESSAGES["type"], code="type") from None
    except (OSError, SyntaxError, ValueError):
        raise ValidationError(MESSAGES["broken"], code="broken") from None
    return LOGO_TYPES[kind]


def branding_of(taxpayer: Taxpayer) -> Branding:
    """The taxpayer's branding row (unsaved and empty when it has none yet)."""
    try:
        return taxpayer.branding
    except Branding.DoesNotExist:
        return Branding(taxpayer=taxpayer)


def _delete_after_commit(name: str) -> None:
    if name:
        after_commit(lambda: default_storage.delete(name))


def save_branding(
    taxpayer: Taxpayer,
    *,
    contact_email: str = "",
    contact_phone: str = "",
    footer_text: str = "",
    accent_color: str = "",
    logo: UploadedFile | None = None,
    remove_logo: bool = False,
) -> Branding:
    """Set the taxpayer's branding; a new ``logo`` (checked) replaces the old one."""
    branding = branding_of(taxpayer)
    branding.contact_email = contact_email
    branding.contact_phone = contact_phone
    branding.footer_text = footer_text
    branding.accent_color = normalize_accent(accent_color)
    old = branding.logo.name if branding.logo else ""
    if logo is not None:
        content_type, extension = check_logo(logo)
        logo.seek(0)
        branding.logo.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(logo.read()), save=False)
        branding.logo_content_type = content_type
    elif remove_logo:
        branding.logo = ""
        branding.logo_content_type = ""
    branding.full_clean(exclude=["taxpayer"])
    branding.save()
    if old and old != (branding.logo.name if branding.logo else ""):
        _delete_after_commit(old)
    return branding


def _logo_bytes(branding: Branding) -> bytes | None:
    if not branding.logo or branding.logo_content_type not in {t for t, _ in LOGO_TYPES.values()}:
        return None
    try:
        with default_storage.open(branding.logo.name, "rb") as stored:
            return stored.read(LOGO_MAX_BYTES + 1)[:LOGO_MAX_BYTES]
    except OSError:
        return None  # a file lost from the disk: the document prints without it


def brand_for(taxpayer: Taxpayer) -> Brand:
    """What the PDF and the email show of ``taxpayer``'s branding: the logo's bytes, the
    Reply-To (its contact email), the phone, the footer and the accent colour."""
    branding = branding_of(taxpayer)
    return Brand(
        name=taxpayer.name,
        accent_color=branding.accent_color or DEFAULT_ACCENT,
        logo=_logo_bytes(branding),
        logo_content_type=branding.logo_content_type if branding.logo else "",
        reply_to=branding.contact_email,
        phone=branding.contact_phone,
        footer=branding.footer_text,
    )


def logo_response(taxpayer: Taxpayer) -> FileResponse:
    """The logo as a response; the caller has checked the account already."""
    branding = branding_of(taxpayer)
    data = _logo_bytes(branding)
    if data is None:
        raise Http404("Este contribuyente no tiene logotipo.")
    response = FileResponse(io.BytesIO(data), content_type=branding.logo_content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=0"
    return response
