"""A file sent to the browser: its content, its type and the name it is saved or shown as."""

from __future__ import annotations

from django.http import HttpResponse


def file_response(
    content: bytes | str, content_type: str, filename: str, *, inline: bool = False
) -> HttpResponse:
    """``content`` named ``filename``: shown in the browser when ``inline``, else saved."""
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response
