"""The jobs' cursors (db/cursors.py) keep the keys and the JSON a live brand-settings table
already holds, so a deployed brand's jobs carry on from where they were: read as plain rules,
with the table's reads and writes replaced by a dict."""
from datetime import date, datetime, timezone

import pytest

from chalicelib.db import cursors, settings

NOW = datetime(2026, 12, 1, 15, 31, 20, tzinfo=timezone.utc)


@pytest.fixture
def table(monkeypatch):
    """The brand-settings items as {key: stored JSON text}."""
    stored = {}

    def write_if_unchanged(key, document, text_read, now):
        assert stored.get(key) == text_read, "moved by another run"
        stored[key] = settings._text(document)
        return stored[key]

    monkeypatch.setattr(settings, "read_text",
                        lambda key, consistent=False: stored.get(key))
    monkeypatch.setattr(settings, "write", lambda key, document, now, by=None:
                        stored.__setitem__(key, settings._text(document)))
    monkeypatch.setattr(settings, "write_if_unchanged", write_if_unchanged)
    monkeypatch.setattr(settings, "forget", lambda key: stored.pop(key, None))
    return stored


def test_each_job_keeps_the_key_its_cursor_has_always_had(table):
    from chalicelib.guides import settlement
    from chalicelib.notify import service
    from chalicelib.orders import closing, refunds
    from chalicelib.reactivation import job

    for minute_job in (closing.JOB, service.JOB):
        cursors.cover(minute_job, NOW.replace(second=0), NOW)
    for day_job in (refunds.JOB, settlement.JOB, "expire-points", "member-tags"):
        cursors.cover_day(day_job, date(2026, 12, 1), NOW)
    read, _ = cursors.read_day(job.JOB)
    cursors.cover_day_if_unchanged(job.JOB, date(2026, 12, 1), read, NOW)

    minute, day = '{"last_minute": "2026-12-01T15:31"}', '{"last_day": "2026-12-01"}'
    assert table == {"job:orders-minute": minute, "job:notifications": minute,
                     "job:refunds": day, "job:settle-commissions": day,
                     "job:expire-points": day, "job:member-tags": day,
                     "job:reactivation": day}


def test_a_cursor_reads_back_what_it_covered_and_starts_over_when_forgotten(table):
    assert cursors.last_minute_covered("orders-minute", NOW) == datetime(
        2026, 12, 1, 15, 29, 20, tzinfo=timezone.utc)  # never ran: two minutes back
    cursors.cover("orders-minute", datetime(2026, 12, 1, 15, 30, tzinfo=timezone.utc), NOW)
    assert cursors.last_minute_covered("orders-minute", NOW) == datetime(
        2026, 12, 1, 15, 30, tzinfo=timezone.utc)

    assert cursors.last_day("refunds") is None
    cursors.cover_day("refunds", date(2026, 11, 30), NOW)
    assert cursors.last_day("refunds") == date(2026, 11, 30)
    cursors.forget("refunds")
    assert cursors.last_day("refunds") is None


def test_a_day_cursor_moves_on_only_from_what_was_read(table):
    read, last = cursors.read_day("reactivation")
    assert (read, last) == (None, None)
    moved = cursors.cover_day_if_unchanged("reactivation", date(2026, 11, 30), read, NOW)
    assert cursors.read_day("reactivation") == (moved, date(2026, 11, 30))
    again = cursors.cover_day_if_unchanged("reactivation", date(2026, 12, 1), moved, NOW)
    assert cursors.read_day("reactivation") == (again, date(2026, 12, 1))
