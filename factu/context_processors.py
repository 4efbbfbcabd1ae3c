from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html_join
from django.utils.safestring import SafeString


def taxpayer_options(taxpayers: list, current) -> SafeString:
    """The taxpayer switcher's ``<option>``s, the current one selected: built once here, as
    a gestoría's hundreds of taxpayers made it a sizeable part of every page's template."""
    current_id = getattr(current, "id", None)
    return format_html_join(
        "",
        '<option value="{}" {}>{} · {}</option>',
        ((t.id, "selected" if t.id == current_id else "", t.name, t.nif) for t in taxpayers),
    )


def tenancy(request) -> dict:
    """The account, membership and taxpayer of an account page, for the base template."""
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    taxpayers = list(request.account.taxpayers.order_by("name", "id"))
    return {
        "account": request.account,
        "membership": membership,
        "taxpayer": request.taxpayer,
        "taxpayers": taxpayers,
        # Lazy: fragments (a job's progress, polled) render no switcher.
        "taxpayer_options": SimpleLazyObject(lambda: taxpayer_options(taxpayers, request.taxpayer)),
        "several_taxpayers": request.account.shows_taxpayer_pages(len(taxpayers)),
    }
