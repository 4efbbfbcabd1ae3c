"""Page-number pagination in the two APIs' shapes.

* account API: ``{"items": [...], "total": 42, "page": 1, "limit": 50}``
  (:class:`AccountPagination`; :class:`FixedPagePagination` for the invoice and expense lists,
  50 a page; :class:`TotalCountPagination` for the client list, a plain array)
* VERI*FACTU API: ``{"data": [...], "meta": {"total": 42, "page": 1, "limit": 50}}``
  (:class:`api.v1.pagination.V1PageNumberPagination`, on :func:`bounded_int`)

``?page=`` must be a positive integer (else 400); a page past the end has no items.
``?limit=`` (1 to ``max_limit``) changes the page size.
"""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

MAX_VALUE = 1_000_000


def bounded_int(name: str, raw: str) -> int:
    """The query parameter ``name``'s ``raw`` value, an integer from 1 to ``MAX_VALUE``, or a
    400 naming it: the one reading of a page number (or a limit) in both APIs."""
    # isascii: "²" and "١" are digits to str.isdigit but not to int(); the cap keeps an
    # offset within the database's integers.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_VALUE:
        raise ValidationError({name: [f"Must be an integer from 1 to {MAX_VALUE}."]})
    return int(raw)


def positive_int(request, name: str, default: int, maximum: int | None = None) -> int:
    """The account API's reading: absent or empty is ``default``, above ``maximum`` a 400."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = bounded_int(name, raw)
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
        self.limit = self.get_limit(request)
        self.total = self.get_total(queryset, view)
        start = (self.page - 1) * self.limit
        if start >= self.total:
            return []
        return self.get_rows(queryset, start, self.limit)

    def get_limit(self, request) -> int:
        return positive_int(request, self.limit_query_param, self.page_size, self.max_limit)

    def get_total(self, queryset, view) -> int:
        if isinstance(queryset, (list, tuple)):
            return len(queryset)
        return queryset.count()

    def get_rows(self, queryset, start: int, limit: int) -> list:
        return list(queryset[start : start + limit])

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
                "total": {
                    "type": "integer",
                    "minimum": 0,
                    "example": 42,
                    "description": "Items in all pages.",
                },
                "page": {"type": "integer", "minimum": 1, "example": 1},
                "limit": {
                    "type": "integer",
                    "minimum": 1,
                    "example": self.page_size,
                    "description": "Items per page.",
                },
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


class FixedPagePagination(AccountPagination):
    """Pages of 50 (no ``?limit=``), read ids first, with the view's exact total when it knows
    one without counting (``view.known_total()``, an int or None).

    The page's ids are read from the index that serves the order, and only those rows are
    fetched: an OFFSET over whole rows reads every skipped row from the table (see the read
    benchmark of deep invoice pages in ``bench/README.md``).
    """

    def get_limit(self, request) -> int:
        return self.page_size

    def get_total(self, queryset, view) -> int:
        known = view.known_total() if hasattr(view, "known_total") else None
        return queryset.count() if known is None else known

    def get_rows(self, queryset, start: int, limit: int) -> list:
        ids = list(queryset.values_list("pk", flat=True)[start : start + limit])
        by_id = {row.pk: row for row in queryset.filter(pk__in=ids)} if ids else {}
        return [by_id[pk] for pk in ids if pk in by_id]

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": f"Page number; {self.page_size} items per page.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_VALUE, "default": 1},
            }
        ]


class TotalCountPagination(AccountPagination):
    """A plain array of every item, or one page of it when ``?page=`` or ``?limit=`` is
    given; the ``X-Total-Count`` header always says how many items there are in all."""

    def paginate_queryset(self, queryset, request, view=None):
        params = request.query_params
        if self.page_query_param in params or self.limit_query_param in params:
            return super().paginate_queryset(queryset, request, view)
        self.total = self.get_total(queryset, view)
        return list(queryset)

    def get_paginated_response(self, data):
        return Response(data, headers={"X-Total-Count": str(self.total)})

    def get_paginated_response_schema(self, schema):
        return schema

    def get_schema_operation_parameters(self, view):
        page, limit = super().get_schema_operation_parameters(view)
        page["description"] = (
            f"Optional page number, from 1 (pages of `limit`, {self.page_size} by default)."
        )
        del page["schema"]["default"]
        limit["description"] = (
            f"Optional page size (1 to {self.max_limit}); without `page`, the first page."
        )
        del limit["schema"]["default"]
        return [page, limit]
