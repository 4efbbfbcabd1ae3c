"""Page-number pagination in the two APIs' shapes.

* account API: ``{"items": [...], "total": 42, "page": 1, "limit": 50}``
* VERI*FACTU API: ``{"data": [...], "meta": {"total": 42, "page": 1, "limit": 50}}``

``?page=`` must be a positive integer (else 400); a page past the end has no items.
``?limit=`` (1 to ``max_limit``) changes the page size.
"""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

MAX_VALUE = 1_000_000


def positive_int(request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    # isascii: "²" and "١" are digits to str.isdigit but not to int(); the cap keeps an
    # offset within the database's integers.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_VALUE:
        raise ValidationError({name: [f"Must be an integer from 1 to {MAX_VALUE}."]})
    value = int(raw)
    if maximum is not None and value > maximum:
        raise ValidationError({name: [f"Must be at most {maximum}."]})
    return value


class AccountPagination(BasePagination):
    page_size = 50
    max_limit = 200
    page_query_param = "page"
    limit_query_param = "limit"

    def paginate_queryset(self, queryset, request, view=None):
        self.page = positive_int(request, self.page_query_param, 1)
        self.limit = positive_int(request, self.limit_query_param, self.page_size, self.max_limit)
        if isinstance(queryset, (list, tuple)):
            self.total = len(queryset)
        else:
            self.total = queryset.count()
        start = (self.page - 1) * self.limit
        if start >= self.total:
            return []
        return list(queryset[start : start + self.limit])

    def get_paginated_response(self, data):
        return Response(
            {"items": data, "total": self.total, "page": self.page, "limit": self.limit}
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["items", "total", "page", "limit"],
            "properties": {
                "items": schema,
                "total": {"type": "integer", "example": 42},
                "page": {"type": "integer", "example": 1},
                "limit": {"type": "integer", "example": self.page_size},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_VALUE, "default": 1},
            },
            {
                "name": self.limit_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page (default {self.page_size}).",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_limit,
                    "default": self.page_size,
                },
            },
        ]


class V1Pagination(AccountPagination):
    def get_paginated_response(self, data):
        return Response(
            {"data": data, "meta": {"total": self.total, "page": self.page, "limit": self.limit}}
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {
                "data": schema,
                "meta": {
                    "type": "object",
                    "properties": {
                        "total": {"type": "integer", "example": 42},
                        "page": {"type": "integer", "example": 1},
                        "limit": {"type": "integer", "example": self.page_size},
                    },
                },
            },
        }
