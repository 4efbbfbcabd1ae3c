"""What an account emails: each message queued and its outcome, the account's texts, and its
reminder schedule.

A delivery is about one object of an app above (an invoice, a quote) named by ``kind`` and
``object_id`` only, so ``mailing`` imports none of them. A reminder's delivery carries its
``step`` ("before-3", "after-7"), and one step of one object is sent at most once: the
database refuses a second row.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from factu.models import Account, Taxpayer


class Kind(models.TextChoices):
    INVOICE = "invoice", "Factura"
    QUOTE = "quote", "Presupuesto"
    REMINDER_BEFORE = "reminder_before", "Recordatorio antes del vencimiento"
    REMINDER_AFTER = "reminder_after", "Recordatorio tras el vencimiento"


class EmailDelivery(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "En cola"
        SENT = "sent", "Entregado al servidor de correo"
        FAILED = "failed", "Fallido"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_id = models.UUIDField()
    # Whose brand the email carries (its signature and HTML part); none: plain text only.
    taxpayer = models.ForeignKey(
        Taxpayer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    step = models.CharField(max_length=20, blank=True)
    to = models.EmailField()
    cc = models.JSONField(default=list, blank=True)
    reply_to = models.EmailField(blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A worker holds the delivery until then (tasks are acks_late: a message may come twice).
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_label = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "step"],
                condition=~Q(step=""),
                name="delivery_unique_step",
            )
        ]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="delivery_account_order"),
            models.Index(fields=["object_id"], name="delivery_object"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.to} ({self.get_status_display()})"

    @property
    def recipients(self) -> list[str]:
        return [self.to, *self.cc]


class EmailTemplate(models.Model):
    """An account's own subject and body for one kind; without one, the default
    (:data:`mailing.texts.DEFAULTS`)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    subject = models.CharField("asunto", max_length=200)
    body = models.TextField("mensaje")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "kind"], name="template_unique_kind")
        ]

    def __str__(self) -> str:
        return f"{self.account} · {self.kind}"


class MailSettings(models.Model):
    """An account's payment-reminder schedule: days before and after the due date (empty:
    no reminders)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="+")
    reminder_days_before = models.JSONField(default=list, blank=True)
    reminder_days_after = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.account}: {self.reminder_days_before} / {self.reminder_days_after}"
