"""The account's email pages: its settings (texts and reminders) and the development outbox."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from factu.access import account_view
from mailing import outbox, texts
from mailing.forms import ScheduleForm, TemplateForm
from mailing.models import EmailTemplate, Kind, MailSettings


def schedule_of(account) -> MailSettings:
    return MailSettings.objects.filter(account=account).first() or MailSettings(account=account)


@account_view(manage=True)
def mail_settings(request: HttpRequest) -> HttpResponse:
    account = request.account
    current = schedule_of(account)
    data = request.POST if request.method == "POST" else None
    schedule = ScheduleForm(
        data,
        initial={
            "days_before": ", ".join(map(str, current.reminder_days_before)),
            "days_after": ", ".join(map(str, current.reminder_days_after)),
        },
    )
    forms = []
    for kind in Kind.values:
        subject, body = texts.template_for(account, kind)
        forms.append(TemplateForm(data, kind=kind, initial={"subject": subject, "body": body}))
    if data is not None and schedule.is_valid() and all(f.is_valid() for f in forms):
        with transaction.atomic():
            MailSettings.objects.update_or_create(
                account=account,
                defaults={
                    "reminder_days_before": schedule.cleaned_data["days_before"],
                    "reminder_days_after": schedule.cleaned_data["days_after"],
                },
            )
            for form in forms:
                EmailTemplate.objects.update_or_create(
                    account=account,
                    kind=form.kind,
                    defaults={
                        "subject": form.cleaned_data["subject"],
                        "body": form.cleaned_data["body"],
                    },
                )
        messages.success(request, "Se han guardado los ajustes de correo.")
        return redirect("mail_settings", account.slug)
    return render(
        request,
        "mailing/settings.html",
        {
            "schedule": schedule,
            "forms": forms,
            "placeholders": texts.PLACEHOLDERS,
            "outbox": outbox.enabled(),
        },
    )


@account_view()
def outbox_list(request: HttpRequest) -> HttpResponse:
    if not outbox.enabled():
        raise Http404("La bandeja de salida solo existe en desarrollo.")
    return render(request, "mailing/outbox.html", {"items": outbox.messages_for(request.account)})
