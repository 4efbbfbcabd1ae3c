import pytest
from django.core.exceptions import ValidationError

from factu.nif import MESSAGES, normalize_nif, validate_nif


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12345678Z", "12345678Z"),  # DNI
        ("12345678z", "12345678Z"),  # lower case letter
        ("1234 5678-Z", "12345678Z"),  # separators people type
        ("X1234567L", "X1234567L"),  # NIE with X
        ("Y1234567X", "Y1234567X"),  # NIE with Y
        ("Z1234567R", "Z1234567R"),  # NIE with Z
        ("B87654323", "B87654323"),  # CIF, digit control
        ("Q2826000H", "Q2826000H"),  # CIF, letter control (public body)
        ("K1234567L", "K1234567L"),  # K: Spaniards under 14
        ("L1234567L", "L1234567L"),  # L: non-resident Spaniards
        ("M1234567L", "M1234567L"),  # M: foreigners without NIE
        ("ES12345678Z", "12345678Z"),  # the ES VAT prefix is dropped
        ("es B87654323", "B87654323"),
        ("89890001K", "89890001K"),  # AEAT's test NIF is a valid DNI
    ],
)
def test_valid_nifs_are_normalised(raw, expected):
    assert validate_nif(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("00000000T", "zeros"),  # passes the checksum, AEAT refuses it
        ("A00000000", "zeros"),
        ("X0000000T", "zeros"),
        ("12345678A", "checksum"),  # DNI with the wrong letter
        ("X1234567A", "checksum"),  # NIE with the wrong letter
        ("A12345678", "checksum"),  # the account API seed's sample NIF
        ("A98765432", "checksum"),  # the VERI*FACTU API seed's sample NIF
        ("B1234567X", "checksum"),
        ("1234", "length"),
        ("123456789012", "length"),
        ("I12345678", "format"),  # I is not an entity letter
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_invalid_nifs_are_refused_with_a_reason(raw, code):
    with pytest.raises(ValidationError) as exc:
        validate_nif(raw)
    assert exc.value.code == code
    assert exc.value.messages == [MESSAGES[code]]


def test_messages_are_in_spanish_and_name_the_problem():
    with pytest.raises(ValidationError) as exc:
        validate_nif("12345678A")
    assert exc.value.messages == [
        "El carácter de control del NIF no es correcto: revise el número."
    ]
    with pytest.raises(ValidationError) as exc:
        validate_nif("00000000T")
    assert exc.value.messages == ["El NIF no puede estar formado solo por ceros."]


def test_normalize_strips_prefix_and_punctuation():
    assert normalize_nif(" es-b.87654323 ") == "B87654323"
