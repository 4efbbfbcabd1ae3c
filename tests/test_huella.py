"""Huella (SPEC §1): AEAT's official vectors, derived negatives, and the literal formatters."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from verifactu.huella import (
    format_amount,
    format_date,
    format_timestamp,
    huella_alta,
    huella_anulacion,
    huella_evento,
    sha256_upper,
)

H1 = "3C464DAF61ACB827C65FDA19F352A4E3BDC2C640E9E9FC4CC058073F38F12F60"
H2 = "F7B94CFD8924EDFF273501B01EE5153E4CE8F259766F88CF6ACB8935802A2B97"
H3 = "177547C0D57AC74748561D054A9CEC14B4C4EA23D1BEFD6F2E69E3A388F90C68"

CASE1 = (
    "89890001K",
    "12345678/G33",
    "01-01-2024",
    "F1",
    "12.35",
    "123.45",
    "",
    "2024-01-01T19:20:30+01:00",
)


def test_official_vector_1_first_alta():
    assert huella_alta(*CASE1) == H1


def test_official_vector_1_none_previous_is_empty():
    args = list(CASE1)
    args[6] = None
    assert huella_alta(*args) == H1


def test_official_vector_2_chained_alta():
    assert (
        huella_alta(
            "89890001K",
            "12345679/G34",
            "01-01-2024",
            "F1",
            "12.35",
            "123.45",
            H1,
            "2024-01-01T19:20:35+01:00",
        )
        == H2
    )


def test_official_vector_3_anulacion():
    assert (
        huella_anulacion("89890001K", "12345679/G34", "01-01-2024", H2, "2024-01-01T19:20:40+01:00")
        == H3
    )


def test_the_string_hashed_is_the_documented_one():
    text = (
        "IDEmisorFactura=89890001K&NumSerieFactura=12345678/G33&FechaExpedicionFactura="
        "01-01-2024&TipoFactura=F1&CuotaTotal=12.35&ImporteTotal=123.45&Huella=&"
        "FechaHoraHusoGenRegistro=2024-01-01T19:20:30+01:00"
    )
    assert len(text) == 199
    assert sha256_upper(text) == H1


@pytest.mark.parametrize(
    ("index", "value", "expected"),
    [
        (5, "123.450", "33578219FD6D00E3F9A99C8E93097E9A0212729BA0DA10BC6C2C75216B4194C1"),
        (2, "2024-01-01", "048C3862AF9CAEB9098CC079B6E5DF43B649F89644F11B29588700909C7C9524"),
        (
            7,
            "2024-01-01T18:20:30Z",
            "899E91D5403288A4BD25FF77400471BD629EC7DCE560BA4248B76E184A630BD9",
        ),
    ],
)
def test_wrong_formats_give_other_hashes(index, value, expected):
    args = list(CASE1)
    args[index] = value
    result = huella_alta(*args)
    assert result == expected
    assert result not in (H1, H2, H3)


def test_event_vector():
    assert huella_evento(
        "89890001K", "", "77", "1.0", "383", "89890002E", "01", "", "2024-01-01T19:20:30+01:00"
    ) == ("C12D61CB5FB075971821ACE48EF5EF0783C6181AF7699BEC140994F496BCD53E")


def test_edge_blanks_are_trimmed_internal_kept():
    padded = list(CASE1)
    padded[0] = "  89890001K "
    padded[1] = " 12345678/G33\t"
    padded[7] = " 2024-01-01T19:20:30+01:00 "
    assert huella_alta(*padded) == H1
    inner = list(CASE1)
    inner[1] = " 12345678 / G33 "
    expected = sha256_upper(
        "IDEmisorFactura=89890001K&NumSerieFactura=12345678 / G33&FechaExpedicionFactura="
        "01-01-2024&TipoFactura=F1&CuotaTotal=12.35&ImporteTotal=123.45&Huella=&"
        "FechaHoraHusoGenRegistro=2024-01-01T19:20:30+01:00"
    )
    assert huella_alta(*inner) == expected


def test_ampersand_in_numserie_is_hashed_literally():
    args = list(CASE1)
    args[1] = "12345678&G33"
    expected = sha256_upper(
        "IDEmisorFactura=89890001K&NumSerieFactura=12345678&G33&FechaExpedicionFactura="
        "01-01-2024&TipoFactura=F1&CuotaTotal=12.35&ImporteTotal=123.45&Huella=&"
        "FechaHoraHusoGenRegistro=2024-01-01T19:20:30+01:00"
    )
    assert huella_alta(*args) == expected
    args[1] = "12345678&amp;G33"
    assert huella_alta(*args) != expected


def test_output_is_64_uppercase_hex():
    result = huella_alta(*CASE1)
    assert len(result) == 64
    assert result == result.upper()
    int(result, 16)


# --------------------------------------------------------------------------- formatters


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("123.45"), "123.45"),
        (Decimal("123.1"), "123.10"),
        (Decimal("123"), "123.00"),
        (Decimal("0.005"), "0.01"),
        (Decimal("2.675"), "2.68"),
        (Decimal("-2.675"), "-2.68"),
        (Decimal("-0.001"), "0.00"),
        (Decimal("-0"), "0.00"),
        (Decimal("1E+3"), "1000.00"),
        (Decimal("0.0000001"), "0.00"),
        (Decimal("999999999999.99"), "999999999999.99"),
        (Decimal("-999999999999.99"), "-999999999999.99"),
        (7, "7.00"),
    ],
)
def test_format_amount(value, text):
    assert format_amount(value) == text


@pytest.mark.parametrize("value", [1.5, 0.1, "1.00", None, True])
def test_format_amount_refuses_non_decimals(value):
    with pytest.raises(TypeError):
        format_amount(value)


@pytest.mark.parametrize(
    "value",
    [
        Decimal("1000000000000"),
        Decimal("999999999999.995"),
        Decimal("-1000000000000.00"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1E+40"),
    ],
)
def test_format_amount_refuses_too_big_or_not_finite(value):
    with pytest.raises(ValueError):
        format_amount(value)


def test_format_date():
    assert format_date(date(2024, 1, 1)) == "01-01-2024"
    assert format_date(date(2025, 12, 31)) == "31-12-2025"
    assert format_date(datetime(2025, 3, 4, 23, 59)) == "04-03-2025"
    with pytest.raises(TypeError):
        format_date("2024-01-01")


def test_format_timestamp_in_madrid():
    madrid = ZoneInfo("Europe/Madrid")
    assert format_timestamp(datetime(2024, 1, 1, 19, 20, 30, tzinfo=madrid)) == (
        "2024-01-01T19:20:30+01:00"
    )
    # UTC input converted to Madrid; summer time gives +02:00; microseconds dropped.
    assert format_timestamp(datetime(2024, 1, 1, 18, 20, 30, 999999, tzinfo=UTC)) == (
        "2024-01-01T19:20:30+01:00"
    )
    assert format_timestamp(datetime(2024, 7, 1, 10, 0, 0, tzinfo=UTC)) == (
        "2024-07-01T12:00:00+02:00"
    )
    other = timezone(timedelta(hours=-5))
    assert format_timestamp(datetime(2024, 1, 1, 13, 20, 30, tzinfo=other)) == (
        "2024-01-01T19:20:30+01:00"
    )


def test_format_timestamp_canarias():
    canary = ZoneInfo("Atlantic/Canary")
    value = datetime(2024, 1, 1, 18, 20, 30, tzinfo=UTC)
    assert format_timestamp(value, canary) == "2024-01-01T18:20:30+00:00"


def test_format_timestamp_refuses_naive():
    with pytest.raises(ValueError, match="naive"):
        format_timestamp(datetime(2024, 1, 1, 19, 20, 30))


def test_formatters_feed_the_official_vector():
    madrid = ZoneInfo("Europe/Madrid")
    assert (
        huella_alta(
            "89890001K",
            "12345678/G33",
            format_date(date(2024, 1, 1)),
            "F1",
            format_amount(Decimal("12.35")),
            format_amount(Decimal("123.45")),
            None,
            format_timestamp(datetime(2024, 1, 1, 19, 20, 30, 500, tzinfo=madrid)),
        )
        == H1
    )
