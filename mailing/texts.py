"""The texts of an account's emails: Spanish defaults, the account's own, and placeholders.

Placeholders are ``{name}`` for the names of :data:`PLACEHOLDERS` only, replaced by plain
string substitution: a user's text never reaches ``str.format`` (whose fields could read
attributes), and anything else in braces stays as written.
"""

from __future__ import annotations

import re

from factu.models import Account
from mailing.models import EmailTemplate, Kind

PLACEHOLDERS: dict[str, str] = {
    "numero": "número de la factura o del presupuesto",
    "cliente": "nombre del cliente",
    "emisor": "nombre de quien la emite",
    "importe": "importe total (1.210,00 €)",
    "pendiente": "importe pendiente de cobro",
    "fecha": "fecha de expedición",
    "vencimiento": "fecha de vencimiento",
    "dias": "días hasta el vencimiento o desde él",
}
PATTERN = re.compile(r"\{([a-z_]+)\}")

DEFAULTS: dict[str, tuple[str, str]] = {
    Kind.INVOICE: (
        "Factura {numero} de {emisor}",
        "Hola:\n\nLe enviamos la factura {numero}, del {fecha}, por un importe de {importe}. "
        "La encontrará adjunta en PDF.\n\nUn saludo,\n{emisor}",
    ),
    Kind.QUOTE: (
        "Presupuesto {numero} de {emisor}",
        "Hola:\n\nLe enviamos el presupuesto {numero}, del {fecha}, por un importe de "
        "{importe}. Lo encontrará adjunto en PDF.\n\nUn saludo,\n{emisor}",
    ),
    Kind.REMINDER_BEFORE: (
        "Recordatorio: la factura {numero} vence el {vencimiento}",
        "Hola:\n\nLe recordamos que la factura {numero}, por {pendiente}, vence el "
        "{vencimiento}. La adjuntamos de nuevo.\n\nSi ya la ha pagado, no haga caso de este "
        "mensaje.\n\nUn saludo,\n{emisor}",
    ),
    Kind.REMINDER_AFTER: (
        "Factura {numero} pendiente de pago",
        "Hola:\n\nLa factura {numero}, por {pendiente}, venció el {vencimiento} y aún no "
        "consta su pago. La adjuntamos de nuevo.\n\nSi ya la ha pagado, no haga caso de este "
        "mensaje.\n\nUn saludo,\n{emisor}",
    ),
}


def substitute(text: str, values: dict[str, str]) -> str:
    """``text`` with each known placeholder replaced by its value in ``values``."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name in PLACEHOLDERS and name in values:
            return str(values[name])
        return match.group(0)

    return PATTERN.sub(replace, text)


def unknown_placeholders(text: str) -> list[str]:
    """The ``{names}`` in ``text`` that are not placeholders (a typo the form points out)."""
    return sorted({m.group(1) for m in PATTERN.finditer(text) if m.group(1) not in PLACEHOLDERS})


def template_for(account: Account, kind: str) -> tuple[str, str]:
    """The account's (subject, body) for ``kind``, or the default."""
    own = EmailTemplate.objects.filter(account=account, kind=kind).first()
    if own is not None:
        return own.subject, own.body
    return DEFAULTS[kind]


def one_line(text: str) -> str:
    """A subject on one line: any run of whitespace (line breaks included) is one space."""
    return " ".join(text.split())


def render(account: Account, kind: str, values: dict[str, str]) -> tuple[str, str]:
    """The account's template for ``kind`` filled with ``values``: (subject, body)."""
    subject, body = template_for(account, kind)
    return one_line(substitute(subject, values)), substitute(body, values)
