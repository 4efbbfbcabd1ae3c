"""``/api/``: docs, ping, and the two APIs when their modules are present.

``api.v1.urls`` (VERI*FACTU API) and ``api.account.urls`` (account API: ``/api/invoices``…)
are included only if they exist, so this file works before they are written; an error
*inside* one of them still fails loudly. Anything unmatched is a JSON 404.
"""

from __future__ import annotations

from importlib.util import find_spec

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from api import views


def _present(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:
        return False


public = {"authentication_classes": [], "permission_classes": [AllowAny]}

urlpatterns = [
    re_path(r"^schema/?$", SpectacularAPIView.as_view(**public), name="api_schema"),
    re_path(
        r"^docs/?$",
        # The split view serves Swagger UI's init script from ``?script`` instead of inline,
        # so the page keeps the site's Content-Security-Policy (no 'unsafe-inline').
        SpectacularSwaggerSplitView.as_view(url_name="api_schema", **public),
        name="api_docs",
    ),
    path("ping", views.PingView.as_view(), name="api_ping"),
]

if _present("api.v1.urls"):
    urlpatterns.append(path("v1/", include("api.v1.urls")))
if _present("api.account.urls"):
    urlpatterns.append(path("", include("api.account.urls")))

urlpatterns.append(re_path(r"", views.NotFoundView.as_view(), name="api_not_found"))
