"""The account's email settings: the texts of each kind and the reminder schedule."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from mailing import texts
from mailing.models import Kind
from mailing.services import clean_subject

MAX_DAYS = 365
MAX_STEPS = 5


def parse_days(raw: str) -> list[int]:
    """ "3, 7" → [3, 7]: whole days between 1 and 365, at most five, sorted."""
    values = []
    for part in (raw or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= MAX_DAYS:
            raise ValidationError(f"«{part}» no es un número de días entre 1 y {MAX_DAYS}.")
        values.append(int(part))
    values = sorted(set(values))
    if len(values) > MAX_STEPS:
        raise ValidationError(f"Como mucho {MAX_STEPS} recordatorios.")
    return values


class ScheduleForm(forms.Form):
    days_before = forms.CharField(
        label="Días antes del vencimiento",
        required=False,
        help_text="Separados por comas, por ejemplo «3». Vacío: ningún aviso antes.",
    )
    days_after = forms.CharField(
        label="Días después del vencimiento",
        required=False,
        help_text="Separados por comas, por ejemplo «1, 7, 30». Vacío: ningún aviso después.",
    )

    def clean_days_before(self) -> list[int]:
        return parse_days(self.cleaned_data["days_before"])

    def clean_days_after(self) -> list[int]:
        return parse_days(self.cleaned_data["days_after"])


class TemplateForm(forms.Form):
    subject = forms.CharField(label="Asunto", max_length=200)
    body = forms.CharField(label="Mensaje", widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, *args, kind: str, **kwargs) -> None:
        super().__init__(*args, prefix=kind, **kwargs)
        self.kind = kind
        self.title = Kind(kind).label

    def clean_subject(self) -> str:
        try:
            subject = clean_subject(self.cleaned_data["subject"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["subject"]) from None
        return self._known(subject)

    def clean_body(self) -> str:
        return self._known(self.cleaned_data["body"])

    def _known(self, text: str) -> str:
        unknown = texts.unknown_placeholders(text)
        if unknown:
            names = ", ".join("{" + n + "}" for n in unknown)
            raise ValidationError(f"No se reconoce {names}: use los marcadores de la lista.")
        return text
