"""The members' daily jobs: points that lapse, and the computed tags. Each remembers the last
day it covered (db/cursors.py), so a missed run is caught up next time, and reads only the
members its days name."""
from datetime import timedelta

from chalicelib.core import logs
from chalicelib.core.clock import SHANGHAI
from chalicelib.core.clock import clock as system_clock
from chalicelib.db.cursors import cover_day, days, last_day
from chalicelib.members import points, tags

CATCH_UP_DAYS = 31


def _days_to_cover(job, today):
    last = last_day(job) or today - timedelta(days=1)
    return days(max(last + timedelta(days=1), today - timedelta(days=CATCH_UP_DAYS)), today)


def expire_points(clock=system_clock):
    today = clock.now().date()
    expired = 0
    for day in _days_to_cover("expire-points", today):
        for member_id in points.members_with_credits_expiring_on(day.isoformat()):
            expired += points.expire_due(member_id, clock)
        cover_day("expire-points", day, clock.now())
    logs.info("job_done", job="expire-points", points_expired=expired)
    return expired


def refresh_member_tags(clock=system_clock):
    today = clock.now().astimezone(SHANGHAI).date()
    changed = 0
    for day in _days_to_cover("member-tags", today):
        changed += tags.refresh_computed_tags(day, clock)
        cover_day("member-tags", day, clock.now())
    logs.info("job_done", job="member-tags", tags_changed=changed)
    return changed
