"""Job cursors: up to which minute (or day) a job has read, so a missed run is caught up; and
the minutes and days a job walks.

A cursor is the brand setting `job:<job>` (the job by the name its cursor has always had:
"orders-minute", "refunds", "member-tags", …) holding {"last_minute": "YYYY-MM-DDTHH:MM"}
(UTC) or {"last_day": "YYYY-MM-DD"}."""
import json
from datetime import date, datetime, timedelta, timezone

from chalicelib.core.clock import MINUTE
from chalicelib.db import settings


def _key(job):
    """The brand setting that holds the job's cursor."""
    return f"job:{job}"


def minutes(first, last):
    """Each minute from first to last (inclusive), as "YYYY-MM-DDTHH:MM" keys."""
    moment = first
    while moment <= last:
        yield moment.strftime(MINUTE)
        moment += timedelta(minutes=1)


def minute_before(minute_key):
    """The minute before a "YYYY-MM-DDTHH:MM" key, as a time: to cover a job up to there."""
    return datetime.strptime(minute_key, MINUTE).replace(tzinfo=timezone.utc) \
        - timedelta(minutes=1)


def last_minute_covered(job, now):
    """The last minute the job read; two minutes ago for a job that never ran."""
    cursor = settings.read(_key(job))
    if cursor is None:
        return now - timedelta(minutes=2)
    return datetime.strptime(cursor["last_minute"], MINUTE).replace(tzinfo=timezone.utc)


def cover(job, minute, now):
    """Records that the job has read up to this minute."""
    settings.write(_key(job), {"last_minute": minute.strftime(MINUTE)}, now)


def _day_of(cursor):
    return None if cursor is None else date.fromisoformat(cursor["last_day"])


def last_day(job):
    """The day a job's cursor names, or None before its first run."""
    return _day_of(settings.read(_key(job)))


def read_day(job):
    """(the cursor as read, the day it names or None), read strongly consistent: for
    cover_day_if_unchanged."""
    text = settings.read_text(_key(job), consistent=True)
    return text, _day_of(None if text is None else json.loads(text))


def cover_day(job, day, now):
    """Records that the job has covered this day."""
    settings.write(_key(job), {"last_day": day.isoformat()}, now)


def cover_day_if_unchanged(job, day, read, now):
    """Records that the job has covered this day, on condition no other run moved the cursor
    since it was read (read_day); returns the cursor as now written."""
    return settings.write_if_unchanged(_key(job), {"last_day": day.isoformat()}, read, now)


def forget(job):
    """The job's cursor forgotten: its next run starts as its first would."""
    settings.forget(_key(job))


def days(first, last):
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
