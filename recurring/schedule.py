"""A plan's calendar, pure date arithmetic: the periods fall on a day of the month, every one,
three or twelve months, from the first such day on or after the start date.

A day the month lacks (31 in April, 29 to 31 in February) is that month's last day, and the
next period returns to the plan's day: 31 January, 28 February, 31 March.
"""

from __future__ import annotations

import calendar
from datetime import date

MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
# No calendar runs for ever: a bound on the periods looked through (100 years monthly).
MAX_PERIODS = 1200


def _on_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def periods(start: date, frequency: str, day: int):
    """The plan's periods in order: the first on or after ``start``, then one every step."""
    step = MONTHS[frequency]
    year, month = start.year, start.month
    if _on_day(year, month, day) < start:
        year, month = _shift(year, month, 1)
    for i in range(MAX_PERIODS):
        y, m = _shift(year, month, i * step)
        if y > 9998:
            return
        yield _on_day(y, m, day)


def first_after(start: date, frequency: str, day: int, after: date | None) -> date | None:
    """The first period of the calendar later than ``after`` (the first of all without it)."""
    for period in periods(start, frequency, day):
        if after is None or period > after:
            return period
    return None


def one_step_after(day: date, frequency: str) -> date:
    """``day`` moved on by one step of ``frequency`` (31 January + 1 month: 28 February)."""
    year, month = _shift(day.year, day.month, MONTHS[frequency])
    return _on_day(year, month, day.day)


def first_on_or_after(start: date, frequency: str, day: int, bound: date) -> date | None:
    """The first period of the calendar on ``bound`` or later."""
    for period in periods(start, frequency, day):
        if period >= bound:
            return period
    return None


MONTH_NAMES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


def period_label(period: date, frequency: str) -> str:
    """The months a period covers, in Spanish: «marzo de 2026», «enero a marzo de 2026»,
    «noviembre de 2026 a enero de 2027», «2026» (a year from January)."""
    months = MONTHS[frequency]
    first = (period.year, period.month)
    if months == 12 and period.month == 1:
        return str(period.year)
    last = _shift(period.year, period.month, months - 1)
    if months == 1:
        return f"{MONTH_NAMES[first[1] - 1]} de {first[0]}"
    if first[0] == last[0]:
        return f"{MONTH_NAMES[first[1] - 1]} a {MONTH_NAMES[last[1] - 1]} de {last[0]}"
    return f"{MONTH_NAMES[first[1] - 1]} de {first[0]} a {MONTH_NAMES[last[1] - 1]} de {last[0]}"
