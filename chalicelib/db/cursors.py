"""Job cursors: up to which minute (or day) a job has read, kept in brand settings, so a missed
run is caught up; and the minutes and days a job walks."""
import json
from datetime import date, datetime, timedelta, timezone

from pynamodb.exceptions import DoesNotExist

from chalicelib.core.clock import MINUTE


def minutes(first, last):
    """Each minute from first to last (inclusive), as "YYYY-MM-DDTHH:MM" keys."""
    moment = first
    while moment <= last:
        yield moment.strftime(MINUTE)
        moment += timedelta(minutes=1)


def minute_before(key):
    """The minute before a "YYYY-MM-DDTHH:MM" key, as a time: to cover a job up to there."""
    return datetime.strptime(key, MINUTE).replace(tzinfo=timezone.utc) - timedelta(minutes=1)


def last_minute_covered(job, now):
    """The last minute the job read; two minutes ago for a job that never ran."""
    from chalicelib.db.settings import BrandSetting

    try:
        last = json.loads(BrandSetting.get(job).document)["last_minute"]
        return datetime.strptime(last, MINUTE).replace(tzinfo=timezone.utc)
    except DoesNotExist:
        return now - timedelta(minutes=2)


def cover(job, minute, now):
    """Records that the job has read up to this minute."""
    from chalicelib.db.settings import BrandSetting

    BrandSetting(job, document=json.dumps({"last_minute": minute.strftime(MINUTE)}),
                 updated_at=now).save()


def last_day(job):
    """The day a job's cursor names, or None before its first run."""
    from chalicelib.db.settings import BrandSetting

    try:
        return date.fromisoformat(json.loads(BrandSetting.get(f"job:{job}").document)
                                  ["last_day"])
    except DoesNotExist:
        return None


def cover_day(job, day, now):
    from chalicelib.db.settings import BrandSetting

    BrandSetting(f"job:{job}", document=json.dumps({"last_day": day.isoformat()}),
                 updated_at=now).save()


def days(first, last):
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
