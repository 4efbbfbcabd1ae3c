"""JSON for the VERI*FACTU API: amounts are ``Decimal`` in and out, never floats.

Incoming numbers are parsed straight to ``Decimal`` (``parse_float=Decimal``), so ``0.1``
never becomes 0.1000000000000000055…; outgoing amounts are written as JSON numbers with
exactly two decimals (``825.00``), which ``json`` cannot do by itself: the renderer writes
them as marked strings and then unquotes exactly those.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from rest_framework.renderers import JSONRenderer

from api.parsers import JSONParser, loads

_MARK = f"dec{uuid.uuid4().hex[:12]}:"
_MARKED = re.compile(rf'"{_MARK}(-?\d+\.\d\d)"'.encode())
CENT = Decimal("0.01")


def _not_json(name: str):
    raise ValueError(f"{name} is not a JSON number")


class DecimalJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        return loads(stream.read(), encoding, parse_float=Decimal, parse_constant=_not_json)


def _mark(value):
    if isinstance(value, Decimal):
        return f"{_MARK}{value.quantize(CENT)}"
    if isinstance(value, dict):
        return {k: _mark(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mark(v) for v in value]
    return value


class DecimalJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        body = super().render(_mark(data), accepted_media_type, renderer_context)
        return _MARKED.sub(rb"\1", body)
