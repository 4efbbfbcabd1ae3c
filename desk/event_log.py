"""Settings → Sistema informático: download a taxpayer's signed NO VERI*FACTU event log.

The page lists the account's NO VERI*FACTU taxpayers with an export button (a POST) here; the
download is an export of the event log (:func:`verifactu.events.export_events`), so it logs
event 09; when that 09 cannot be signed (no certificate may sign) nothing is exported and the
page says why. Events are signed when logged; one without a signature (an anomaly) is left
out, as in the API.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from factu.access import account_view, taxpayer_or_404
from factu.downloads import file_response
from verifactu.events import export_events
from verifactu.signatures import SigningUnavailable


@account_view()
def download(request: HttpRequest, taxpayer_id) -> HttpResponse:
    """POST exports (and logs 09); a GET shows the export button and exports nothing."""
    taxpayer = taxpayer_or_404(request, taxpayer_id)
    if request.method != "POST":
        return render(
            request,
            "export_confirm.html",
            {
                "what": "el registro de eventos",
                "taxpayer_name": taxpayer.name,
                "back": reverse("computer_systems", args=[request.account.slug]),
            },
        )
    try:
        export = export_events(taxpayer)
    except SigningUnavailable as exc:
        messages.error(request, f"No se ha exportado el registro de eventos. {exc.message}")
        return redirect("computer_systems", request.account.slug)
    return file_response(
        export.xml, "application/xml; charset=utf-8", f"eventos-{taxpayer.nif}.xml"
    )
