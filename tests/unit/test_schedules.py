"""When the local scheduler (devtools/jobs.py) runs a job, as plain rules: a Rate is due at each
multiple of its period, a Cron at the UTC minutes it names, as EventBridge runs them."""
import json
from datetime import datetime, timezone

import pytest
from chalice import Cron, Rate
from chalice.app import CloudWatchEvent

from devtools import jobs


def _at(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


def test_a_minute_rate_is_due_at_the_next_whole_minute():
    every_minute = Rate(1, unit=Rate.MINUTES)
    assert jobs.next_due(every_minute, _at(2026, 12, 1, 15, 29, 30)) == _at(2026, 12, 1, 15, 30)
    # due at 15:30 exactly: the next one is a minute later, never the same minute again
    assert jobs.next_due(every_minute, _at(2026, 12, 1, 15, 30)) == _at(2026, 12, 1, 15, 31)


def test_longer_rates_fall_on_their_multiples():
    assert jobs.next_due(Rate(5, unit=Rate.MINUTES), _at(2026, 12, 1, 15, 31, 5)) \
        == _at(2026, 12, 1, 15, 35)
    assert jobs.next_due(Rate(2, unit=Rate.HOURS), _at(2026, 12, 1, 15, 31)) \
        == _at(2026, 12, 1, 16)
    assert jobs.next_due(Rate(1, unit=Rate.DAYS), _at(2026, 12, 31, 23, 59)) \
        == _at(2027, 1, 1)


def test_a_run_that_overran_its_next_slot_waits_for_the_one_after():
    """The next run is counted from the end of the last one: a 5-minute job that took 6
    minutes skips the slot it overran rather than start a second run beside the first."""
    ended = _at(2026, 12, 1, 15, 36)  # started at 15:30
    assert jobs.next_due(Rate(5, unit=Rate.MINUTES), ended) == _at(2026, 12, 1, 15, 40)


def test_a_daily_cron_runs_at_its_utc_time():
    just_after_midnight_in_shanghai = Cron(5, 16, "*", "*", "?", "*")
    assert jobs.next_due(just_after_midnight_in_shanghai, _at(2026, 12, 1, 15, 31)) \
        == _at(2026, 12, 1, 16, 5)
    assert jobs.next_due(just_after_midnight_in_shanghai, _at(2026, 12, 1, 16, 5)) \
        == _at(2026, 12, 2, 16, 5)
    # the last day of a year rolls over to the next year
    assert jobs.next_due(just_after_midnight_in_shanghai, _at(2026, 12, 31, 17)) \
        == _at(2027, 1, 1, 16, 5)


def test_a_time_in_another_zone_is_read_as_the_same_moment():
    from chalicelib.core.clock import SHANGHAI

    shanghai_midnight = datetime(2026, 12, 2, 0, 0, tzinfo=SHANGHAI)  # 16:00 UTC the day before
    assert jobs.next_due(Cron(5, 16, "*", "*", "?", "*"), shanghai_midnight) \
        == _at(2026, 12, 1, 16, 5)


def test_cron_lists_ranges_steps_and_names():
    assert jobs.next_due(Cron("0/15", "*", "*", "*", "?", "*"), _at(2026, 12, 1, 15, 31)) \
        == _at(2026, 12, 1, 15, 45)
    assert jobs.next_due(Cron("0,30", "9-17", "*", "*", "?", "*"), _at(2026, 12, 1, 17, 31)) \
        == _at(2026, 12, 2, 9)
    # 1 December 2026 is a Tuesday: Mondays to Fridays by name, then the weekend skipped
    weekdays = Cron(0, 1, "?", "*", "MON-FRI", "*")
    assert jobs.next_due(weekdays, _at(2026, 12, 4, 2)) == _at(2026, 12, 7, 1)
    # EventBridge numbers the days from Sunday = 1
    assert jobs.next_due(Cron(0, 1, "?", "*", "1", "*"), _at(2026, 12, 1)) \
        == _at(2026, 12, 6, 1)
    assert jobs.next_due(Cron(0, 0, 1, "JAN", "?", "*"), _at(2026, 12, 1)) == _at(2027, 1, 1)


def test_a_day_of_month_that_a_month_lacks_is_skipped():
    assert jobs.next_due(Cron(0, 0, 31, "*", "?", "*"), _at(2026, 11, 1)) \
        == _at(2026, 12, 31)


def test_what_the_scheduler_cannot_read_is_said_not_guessed():
    with pytest.raises(ValueError, match="only"):
        jobs.next_due(Cron(0, 0, "L", "*", "?", "*"), _at(2026, 12, 1))
    with pytest.raises(ValueError, match="not due"):
        jobs.next_due(Cron(0, 0, 1, 1, "?", 2020), _at(2026, 12, 1))


def test_the_jobs_are_the_apps_own_schedules():
    from app import app
    from chalicelib.jobs import schedules

    found = jobs.schedules(app)
    assert {"orders-minute", "events", "refunds", "notifications", "expire-points",
            "refresh-member-tags", "settle-commissions", "reactivation"} <= set(found)
    assert found["orders-minute"].to_string() == "rate(1 minute)"
    assert found["expire-points"].to_string() == "cron(5 16 * * ? *)"
    # every @schedule of the jobs' blueprint, and nothing else
    assert len(found) == sum(1 for value in vars(schedules).values()
                             if type(value).__name__ == "EventSourceHandler")


class _App:
    """An app whose one job raises: what the scheduler does with a failing job."""

    def __init__(self, handler):
        self.handler_map = {"boom": handler}


def test_a_job_that_raises_is_logged_and_reported_not_raised(capsys):
    def handler(event, context):
        raise RuntimeError("DynamoDB went away")

    assert jobs.run_job(_App(handler), "boom", _at(2026, 12, 1, 15, 30)) is False
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["event"] == "job_failed" and line["job"] == "boom"
    assert "DynamoDB went away" in line["traceback"]
    assert line["scheduled_at"] == "2026-12-01T15:30:00+00:00"


def test_a_job_gets_the_scheduled_event_a_lambda_gets(capsys):
    received = []
    assert jobs.run_job(_App(lambda event, context: received.append((event, context))),
                        "boom", _at(2026, 12, 1, 15, 30)) is True
    event, context = received[0]
    as_chalice_reads_it = CloudWatchEvent(event, context)  # what a @schedule function gets
    assert as_chalice_reads_it.detail_type == "Scheduled Event"
    assert as_chalice_reads_it.source == "aws.events"
    assert as_chalice_reads_it.time == "2026-12-01T15:30:00Z"
    assert context.function_name == "boom"
    assert json.loads(capsys.readouterr().out.strip())["event"] == "job_ran"
