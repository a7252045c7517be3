"""The one source of "now". Rules take a clock so tests can move time instead of sleeping."""
import time
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the brand's days, and WeChat Pay's times
MINUTE = "%Y-%m-%dT%H:%M"  # a minute as an index key (UTC): such keys sort as the minutes do


class SystemClock:
    def now(self):
        return datetime.now(timezone.utc)

    def timestamp(self):
        return int(time.time())


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, at):
        self._at = at

    def now(self):
        return self._at

    def timestamp(self):
        return int(self._at.timestamp())

    def advance(self, delta):
        self._at = self._at + delta


clock = SystemClock()


def utc_text(moment):
    """A fixed-width UTC time: as text, such times sort as the times do."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def report_days(from_day, to_day, most_days):
    """(first, last) of a report's days given as "YYYY-MM-DD", at most most_days of them;
    a validation_error otherwise."""
    from chalicelib.errors import DomainError

    try:
        first, last = date.fromisoformat(from_day), date.fromisoformat(to_day)
    except ValueError:
        raise DomainError("validation_error", "from and to must be days: YYYY-MM-DD.") from None
    if last < first:
        raise DomainError("validation_error", "to must not come before from.")
    if (last - first).days >= most_days:
        raise DomainError("validation_error", f"A report covers at most {most_days} days.")
    return first, last
