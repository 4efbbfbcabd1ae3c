"""Series formats that cannot be rendered safely go back to the default, with a line each.

The series form used to accept any format ``str.format`` could render with year 2026, the
code and "001" (at most 50 ASCII characters). The grammar that replaced ``str.format`` renders
every such format the same, except the dangerous ones: attribute or index access
(``{year.__class__}``, ``{code[0]}``), conversions (``{number!r}``), nested fields, widths or
precisions over 20, a ``c`` type, and ``< > " ' =`` (AEAT error 1287) in the text or as a fill.
Those, and anything else the grammar cannot render, become ``{year}-{code}-{number}``: numbers
already issued keep their text, the next ones take the default shape, the counter is not
touched, and a line on stdout names each series changed.

The rule is frozen here, a copy of ``invoicing.numbering.parse`` as of this migration, so
later changes to the grammar never change what this migration did. A format it keeps is one
the grammar accepts: on those the migration changes nothing.
"""

import re
import sys

from django.db import migrations

DEFAULT = "{year}-{code}-{number}"
PLACEHOLDERS = ("year", "code", "number")
MAX_WIDTH = 20
FORBIDDEN = "<>\"'="
SAMPLE = {"year": 2026, "code": "A", "number": "001"}
INT_SPEC = re.compile(
    r"(?:(?P<fill>[^{}])?(?P<align>[<>=^]))?(?P<sign>[-+ ])?z?#?0?(?P<width>[0-9]+)?[,_]?"
    r"(?:\.(?P<precision>[0-9]+))?[bdoxXneEfFgG%]?",
    re.DOTALL,
)
STR_SPEC = re.compile(
    r"(?:(?P<fill>[^{}])?(?P<align>[<>^]))?0?(?P<width>[0-9]+)?(?:\.(?P<precision>[0-9]+))?s?",
    re.DOTALL,
)


def _char_refusal(char):
    if char in FORBIDDEN:
        return f"{char!r} (AEAT 1287)"
    if not (char.isascii() and char.isprintable()):
        return f"{char!r} is not printable ASCII"
    return None


def _field_refusal(inner):
    name, colon, spec = inner.partition(":")
    if name not in PLACEHOLDERS:
        return f"field {{{inner}}}"
    if not colon or not spec:
        return None
    match = (INT_SPEC if name == "year" else STR_SPEC).fullmatch(spec)
    if match is None:
        return f"spec {spec!r} of {{{name}}}"
    for group in ("width", "precision"):
        digits = match.group(group)
        if digits is not None:
            significant = digits.lstrip("0")
            if len(significant) > 2 or int(significant or "0") > MAX_WIDTH:
                return f"{group} of {{{name}}} over {MAX_WIDTH}"
    if match.group("fill") is not None and _char_refusal(match.group("fill")):
        return f"fill {_char_refusal(match.group('fill'))}"
    try:
        sample = format(SAMPLE[name], spec)
    except ValueError:
        return f"spec {spec!r} of {{{name}}}"
    for char in sample:
        if _char_refusal(char):
            return f"{{{name}:{spec}}} renders {_char_refusal(char)}"
    return None


def refusal(text):
    """Why ``text`` cannot be rendered safely, or None when the grammar renders it."""
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if text.startswith("{{", i) or text.startswith("}}", i):
            i += 2
        elif char == "{":
            end = text.find("}", i)
            if end < 0:
                return "unclosed {"
            reason = _field_refusal(text[i + 1 : end])
            if reason:
                return reason
            i = end + 1
        elif char == "}":
            return "unopened }"
        else:
            reason = _char_refusal(char)
            if reason:
                return reason
            i += 1
    return None


def reset_unsafe_formats(apps, schema_editor):
    Series = apps.get_model("invoicing", "Series")
    for series in Series.objects.exclude(number_format=DEFAULT).only("pk", "code", "number_format"):
        reason = refusal(series.number_format)
        if reason is None:
            continue
        Series.objects.filter(pk=series.pk).update(number_format=DEFAULT)
        sys.stdout.write(
            f"invoicing 0008: series {series.pk} ({series.code}): number format "
            f"{series.number_format!r} reset to {DEFAULT!r} ({reason})\n"
        )


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0007_invoice_replaced_simplified_invoices")]

    operations = [migrations.RunPython(reset_unsafe_formats, migrations.RunPython.noop)]
