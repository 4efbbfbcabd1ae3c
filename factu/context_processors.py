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
        "several_taxpayers": request.account.shows_taxpayer_pages(len(taxpayers)),
    }
