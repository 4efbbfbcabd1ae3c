"""What a token may do: its creator's role in the account, read at every request."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from api.models import ApiToken
from factu.models import Role


class AccountTokenPermission(BasePermission):
    """A valid token is required; writes need a role that may write (not ``viewer``).

    Objects of another account are reported as not found, never as forbidden.
    """

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            raise exceptions.NotAuthenticated(
                "Missing token: send 'Authorization: Bearer kf_…'.", code="token_missing"
            )
        role = getattr(token, "role", None)  # set by BearerTokenAuthentication
        # An export view's POST only reads (and logs the export): viewers may export.
        exporting = getattr(view, "export_action", False) and request.method == "POST"
        if request.method not in SAFE_METHODS and not Role.may_write(role) and not exporting:
            raise exceptions.PermissionDenied(
                "This token is read-only: its creator is a viewer of the account.",
                code="permission_denied",
            )
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        account_id = getattr(obj, "account_id", None)
        if account_id is not None and account_id != request.auth.account_id:
            raise exceptions.NotFound()
        return True
