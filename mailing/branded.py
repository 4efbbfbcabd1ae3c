"""The taxpayer's brand on an email: a signature under the plain text and an HTML
alternative with the same words, the brand's name, contact and footer, and its accent.

Every value is the user's text: the HTML is rendered by a Django template (autoescaped),
and nothing of the brand reaches a header (Reply-To is decided by
:func:`mailing.services.reply_to_for`). The template lives with the app
(``mailing/templates/mailing/email.html``), apart from the pages in ``templates/``: it is
never served under the site's Content-Security-Policy, and mail clients honour only inline
styles, so it has them.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from factu.branding import Brand

SEPARATOR = "-- "  # the usenet signature separator mail clients recognise


def signature(brand: Brand) -> str:
    """The brand's signature block for the plain text: name, contact, footer."""
    lines = [brand.name, " · ".join(brand.contact_lines), brand.footer.strip()]
    return "\n".join([SEPARATOR, *(line for line in lines if line)])


def plain_text(body: str, brand: Brand) -> str:
    return f"{body.rstrip()}\n\n{signature(brand)}\n"


def html(body: str, brand: Brand) -> str:
    """The HTML alternative: the body's paragraphs and the brand's block, escaped."""
    paragraphs = [p for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return render_to_string("mailing/email.html", {"paragraphs": paragraphs, "brand": brand})
