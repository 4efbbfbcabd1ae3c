"""Settings → API tokens, under ``/c/<account_slug>/ajustes/tokens/``."""

from django.urls import path

from api import web

urlpatterns = [
    path("", web.token_list, name="api_token_list"),
    path("<uuid:token_id>/creado/", web.token_created, name="api_token_created"),
    path("<uuid:token_id>/revocar/", web.token_revoke, name="api_token_revoke"),
]
