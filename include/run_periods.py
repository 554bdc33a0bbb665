"""The catchup calendar: one run per past year, then per past month of this year, then per day.

Backfilling eight years as ~45 runs instead of ~2,900 removes the per-run overhead without changing what
is loaded: the periods tile time exactly, so the warehouse ends up with the same rows as daily runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=total // 12, month=total % 12 + 1)


def period_end(start: datetime, now: datetime, limit: datetime | None = None) -> datetime:
    """End of the run that starts at ``start`` (00:00 UTC): a whole year or month once it is over, else a day.

    A year or month run is made only when it ends by ``limit`` too (the end of a backfill's range), so
    runs never cover more than was asked for; a year needs to be over before this month began.
    """
    today = day_floor(now)
    bound = today if limit is None else min(today, limit)
    if start.day == 1:
        if start.month == 1 and start.replace(year=start.year + 1) <= min(bound, today.replace(day=1)):
            return start.replace(year=start.year + 1)
        if _add_months(start, 1) <= bound:
            return _add_months(start, 1)
    return start + timedelta(days=1)


def day_floor(moment: datetime) -> datetime:
    """00:00 UTC of the day containing ``moment``."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
