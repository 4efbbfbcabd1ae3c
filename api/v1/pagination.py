"""The pages of the VERI*FACTU API's lists."""

from __future__ import annotations

from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from api.pagination import MAX_VALUE, bounded_int

PAGE_SIZE = 50
MAX_PAGE = MAX_VALUE


class V1PageNumberPagination(BasePagination):
    """``?page=N``, 50 a page: ``{"data": [...], "meta": {"total", "page", "limit"}}``.

    A page past the last one is empty, not a 404; ``page`` outside 1 to 1,000,000 is a 400.
    """

    page_size = PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None) -> list:
        self.page = self.page_number(request)
        self.total = queryset.count()
        start = (self.page - 1) * self.page_size
        return list(queryset[start : start + self.page_size])

    @staticmethod
    def page_number(request) -> int:
        return bounded_int("page", request.query_params.get("page", "1"))

    def get_paginated_response(self, data) -> Response:
        return Response(
            {"data": data, "meta": {"total": self.total, "page": self.page, "limit": PAGE_SIZE}}
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {
                "data": schema,
                "meta": {
                    "type": "object",
                    "required": ["total", "page", "limit"],
                    "properties": {
                        "total": {"type": "integer", "minimum": 0, "example": 1},
                        "page": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_PAGE,
                            "example": 1,
                        },
                        "limit": {"type": "integer", "enum": [PAGE_SIZE], "example": PAGE_SIZE},
                    },
                },
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": "page",
                "required": False,
                "in": "query",
                "description": f"Page number; {PAGE_SIZE} per page.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
            }
        ]
