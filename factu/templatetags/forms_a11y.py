"""The error summary's entries: every error a failed submit left on a form and its formset,
each with the id of the field it belongs to, so the summary can link to it."""

from __future__ import annotations

from django import template
from django.forms import BaseForm, BaseFormSet

register = template.Library()


@register.simple_tag(takes_context=True)
def error_entries(context: template.Context) -> list[dict]:
    """``[{"anchor": id or "", "text": ...}]`` for the field errors of the page's ``form``
    and the errors of its ``formset`` ("Línea N · Campo: error"). A form's non-field errors
    are left out: each template shows them beside its form; an entry needs a field to lead to.

    Read with ``context.get``, not as template variables: a page without a form would log a
    failed variable lookup with the whole context, which may hold a secret (the raw API token
    of the page that shows it once)."""
    form, formset = context.get("form"), context.get("formset")
    entries: list[dict] = []
    if isinstance(form, BaseForm) and form.is_bound:
        for field in form:
            entries += [
                {"anchor": field.auto_id, "text": f"{field.label}: {e}"} for e in field.errors
            ]
    if isinstance(formset, BaseFormSet) and formset.is_bound:
        entries += [{"anchor": "lines", "text": str(e)} for e in formset.non_form_errors()]
        for number, line in enumerate(formset.forms, start=1):
            first = next(iter(line), None)
            entries += [
                {"anchor": first.auto_id if first else "", "text": f"Línea {number}: {e}"}
                for e in line.non_field_errors()
            ]
            for field in line:
                entries += [
                    {"anchor": field.auto_id, "text": f"Línea {number} · {field.label}: {e}"}
                    for e in field.errors
                ]
    return entries
