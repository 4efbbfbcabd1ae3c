"""JSON bodies of both APIs, with their nesting depth bounded before they are parsed.

``json.loads`` recurses once per nested array or object, so 5,000 ``[`` raise a
``RecursionError`` (a 500) and a deep enough body can exhaust the stack. No JSON library we
may use bounds depth and still parses numbers to ``Decimal`` (the v1 API needs it), so the
body is measured first: :func:`nesting_depth` drops the escapes, then the strings, then all
but the brackets, each with a regular expression that never backtracks (a string pattern
that skips escapes itself rescans the rest of the body from every quote of a body such as
``["\\"\\"\\…``: quadratic), and sums the brackets with ``accumulate``; linear in the
body's size, which the API middleware has already capped (``DATA_UPLOAD_MAX_MEMORY_SIZE``).
"""

from __future__ import annotations

import json
import re
from itertools import accumulate

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.settings import api_settings

DEFAULT_MAX_DEPTH = 32
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_STRING = re.compile(r'"[^"]*"')  # with the escapes gone, a string ends at the next quote
_NOT_BRACKET = re.compile(r"[^()]+")
_BRACKETS = str.maketrans({"[": "(", "{": "(", "]": ")", "}": ")"})
_STEP = {"(": 1, ")": -1}


def max_depth() -> int:
    return int(getattr(settings, "API_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text`` (0 for a scalar), strings ignored."""
    bare = _STRING.sub("", _ESCAPE.sub("", text))
    brackets = _NOT_BRACKET.sub("", bare.translate(_BRACKETS))
    if not brackets:
        return 0
    return max(accumulate(map(_STEP.__getitem__, brackets)))


def check_depth(text: str) -> None:
    """``ParseError`` (400) when ``text`` nests deeper than ``API_JSON_MAX_DEPTH``."""
    limit = max_depth()
    if nesting_depth(text) > limit:
        raise ParseError(f"The JSON body nests arrays and objects deeper than {limit} levels.")


def loads(raw: bytes | str, encoding: str = "utf-8", **kwargs):
    """``json.loads`` after :func:`check_depth`; ``ParseError`` for anything malformed."""
    try:
        text = raw.decode(encoding) if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ParseError(f"Malformed JSON: {exc}") from None
    check_depth(text)
    try:
        return json.loads(text, **kwargs)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"Malformed JSON: {exc}") from None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (the account API's), with the depth bound."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        parse_constant = _strict_constant if api_settings.STRICT_JSON else None
        return loads(stream.read(), encoding, parse_constant=parse_constant)


def _strict_constant(name: str):
    raise ValueError(f"Out of range float values are not JSON compliant: {name!r}")
