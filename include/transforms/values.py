"""Values as a source meant them: decimals (a decimal comma, binary floats with the digits they were stored
with) and moments (epoch milliseconds, datetimes, datetime text; naive ones in a stated time zone)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from include.validation import InvalidValue


def number(value: Any, name: str, decimal: str = ".") -> str | None:
    """A decimal as text, exactly as the source meant it: ``2376,348404`` (decimal comma) is ``2376.348404``; a
    binary float is written with the digits it was stored with (a MySQL FLOAT keeps about 7: ``4261.48``, not
    ``4261.47998046875``); empty is None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidValue(f"{name} {value!r} is not a number", f"{name} is not a number")
    if isinstance(value, float):
        single = np.float32(value)
        text = str(single) if float(single) == value else repr(value)
    elif isinstance(value, int | Decimal):
        text = str(value)
    else:
        text = str(value).strip()
        if decimal == ",":
            text = text.replace(",", ".")
    try:
        parsed = Decimal(text)
    except InvalidOperation:
        raise InvalidValue(f"{name} {str(value)[:40]!r} is not a number", f"{name} is not a number") from None
    if not parsed.is_finite():
        raise InvalidValue(f"{name} {value!r} is not finite", f"{name} is not finite")
    plain = format(parsed, "f")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def moment_ms(value: Any, name: str, timezone: str) -> int:
    """Epoch ms from epoch-ms integers (or digit text), datetimes, dates or datetime text; a naive datetime is
    in ``timezone`` (the spec's)."""
    if isinstance(value, bool) or value is None or value == "":
        raise InvalidValue(f"{name} is missing", f"{name} is missing")
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            problem = "is neither epoch milliseconds nor a datetime"
            raise InvalidValue(f"{name} {str(value)[:40]!r} {problem}", f"{name} {problem}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return int(moment.astimezone(UTC).timestamp() * 1000)
