"""drf-spectacular: declare the Bearer security scheme of :mod:`api.authentication`."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "kf_ + 32 letters and digits",
            "description": "Create a token in Settings → API tokens, or with "
            "`manage.py create_api_token`.",
        }
