"""Settings → Sistema informático: download a taxpayer's signed NO VERI*FACTU event log.

The page lists the account's NO VERI*FACTU taxpayers with a link here; the download is an
export of the event log (:func:`verifactu.events.export_events`), so it logs event 09. Events
the worker has not signed yet (a minute at most) are left out, as in the API.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from factu.access import account_view, taxpayer_or_404
from verifactu.events import export_events


@account_view()
def download(request: HttpRequest, taxpayer_id) -> HttpResponse:
    taxpayer = taxpayer_or_404(request, taxpayer_id)
    export = export_events(taxpayer)
    response = HttpResponse(export.xml, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="eventos-{taxpayer.nif}.xml"'
    return response
