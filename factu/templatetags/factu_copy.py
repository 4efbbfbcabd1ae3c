"""Template filters for wording: how long ago something happened, in Spanish."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(value: datetime | None, now: datetime | None = None) -> str:
    """``"hace menos de un minuto"`` under a minute (never ``"hace 0 minutos"``), else
    ``"hace "`` and Django's ``timesince`` (``"hace 3 horas, 5 minutos"``); empty for no
    date. A date in the future (a clock a little ahead) reads as just now."""
    if value is None:
        return ""
    now = now or timezone.now()
    if (now - value).total_seconds() < 60:
        return "hace menos de un minuto"
    return f"hace {timesince(value, now)}"
