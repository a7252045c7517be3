"""The app's scheduled jobs, run locally as EventBridge and Lambda run them on AWS.

`python -m devtools.jobs` (or `--list`) lists them with their schedules;
`python -m devtools.jobs <name>` runs one now against a running `make run` (its ports from the
same variables and defaults as devtools/run.py); `python -m devtools.jobs --serve` is the
scheduler `make run` starts beside `chalice local`.

The jobs are read from the app itself (its registered event sources: every `@schedule`), so a
new one is run with no second list. Each job is invoked through its Lambda handler with a
scheduled event, in the environment `chalice local` gives the app (the stage's variables from
.chalice/config.json). The scheduler runs each job on its rate or cron, in UTC as EventBridge
does, one run at a time per job: a run still going when the next is due makes that one be
skipped, never overlap. A job that raises is logged, and runs again when next due.
"""
import argparse
import os
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from chalice.app import Cron, Rate, ScheduledEventConfig

from devtools import processes

STAGE = "local"
_RATE_UNITS = {Rate.MINUTES: timedelta(minutes=1), Rate.HOURS: timedelta(hours=1),
               Rate.DAYS: timedelta(days=1)}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # EventBridge: SUN is 1
_YEARS_AHEAD = 5  # a cron that matches nothing this soon is taken as never due
STOP_GRACE_S = 3  # how long runs under way may take to end when the scheduler stops


def schedules(app):
    """{job name: its schedule expression}, in the order the app registered them."""
    return {source.name: source.schedule_expression for source in app.event_sources
            if isinstance(source, ScheduledEventConfig)}


def _cron_field(text, low, high, names=()):
    """The values one cron field allows: `*` (or `?`), numbers, names (JAN, MON…), lists,
    ranges and /steps, as EventBridge reads them."""
    text = str(text).upper()
    for offset, name in enumerate(names):
        text = text.replace(name, str(low + offset))
    allowed = set()
    for part in text.split(","):
        part, _, step = part.partition("/")
        if part in ("*", "?"):
            first, last = low, high
        elif "-" in part:
            first, last = (int(bound) for bound in part.split("-"))
        elif part.isdigit():
            first = int(part)
            last = high if step else first
        else:
            raise ValueError(f"cron field {text!r}: only *, ?, numbers, names, lists, ranges "
                             f"and steps are understood here")
        allowed.update(range(first, last + 1, int(step) if step else 1))
    return allowed


def _cron_days(cron, year, month):
    """The days of this month the cron runs on: day of month and day of week (at most one of
    them restricts, the other being `?`)."""
    first = datetime(year, month, 1, tzinfo=timezone.utc)
    length = ((first + timedelta(days=32)).replace(day=1) - first).days
    days = _cron_field(cron.day_of_month, 1, 31) & set(range(1, length + 1))
    weekdays = _cron_field(cron.day_of_week, 1, 7, _WEEKDAYS)
    # isoweekday: Monday 1 … Sunday 7; EventBridge: Sunday 1 … Saturday 7
    return sorted(day for day in days
                  if first.replace(day=day).isoweekday() % 7 + 1 in weekdays)


def next_due(expression, after):
    """The first moment after `after` (UTC) the schedule is due. A rate is due at each
    multiple of its period counted from the epoch (every minute at :00, every 5 minutes at
    :00, :05 …); a cron at the minutes it names, in UTC (Cron(5, 16, …) at 16:05 UTC)."""
    after = after.astimezone(timezone.utc)
    if isinstance(expression, Rate):
        period = _RATE_UNITS[expression.unit] * expression.value
        return _EPOCH + ((after - _EPOCH) // period + 1) * period
    if not isinstance(expression, Cron):
        raise ValueError(f"a schedule of {expression!r} is not a Rate or a Cron")
    minutes = sorted(_cron_field(expression.minutes, 0, 59))
    hours = sorted(_cron_field(expression.hours, 0, 23))
    months = sorted(_cron_field(expression.month, 1, 12, _MONTHS))
    for year in sorted(_cron_field(expression.year, after.year, after.year + _YEARS_AHEAD)):
        for month in months:
            if (year, month) < (after.year, after.month):
                continue
            for day in _cron_days(expression, year, month):
                for hour in hours:
                    for minute in minutes:
                        moment = datetime(year, month, day, hour, minute, tzinfo=timezone.utc)
                        if moment > after:
                            return moment
    raise ValueError(f"{expression.to_string()} is not due in the next {_YEARS_AHEAD} years")


def scheduled_event(name, at):
    """The event EventBridge hands a scheduled Lambda (what chalice makes its CloudWatchEvent
    of)."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "000000000000",
            "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": os.environ.get(
                "AWS_DEFAULT_REGION", "cn-north-1"),
            "resources": [f"arn:aws:events:::rule/{name}"], "detail": {}}


def run_job(app, name, at=None):
    """Runs the job once through its Lambda handler and logs one line of how it ended (its
    error with the traceback, if it raised). Returns True if it ended without raising."""
    from chalice.local import LambdaContext

    from chalicelib.core import logs

    at = at or datetime.now(timezone.utc)
    run_id = uuid.uuid4().hex
    bound = logs.bind_request(run_id)
    started = time.monotonic()
    try:
        app.handler_map[name](scheduled_event(name, at),
                              LambdaContext(name, memory_size=512, max_runtime_ms=900_000))
    except Exception:
        logs.exception("job_failed", job=name, scheduled_at=at.isoformat(),
                       seconds=round(time.monotonic() - started, 3))
        return False
    else:
        logs.info("job_ran", job=name, scheduled_at=at.isoformat(),
                  seconds=round(time.monotonic() - started, 3))
        return True
    finally:
        logs.unbind_request(bound)


def _keep_running(app, name, expression, stopping):
    """One job's loop: wait until it is due, run it, and again. The next due moment is
    counted from the end of a run, so runs of one job never overlap."""
    while True:
        due = next_due(expression, datetime.now(timezone.utc))
        while (wait_s := (due - datetime.now(timezone.utc)).total_seconds()) > 0:
            if stopping.wait(wait_s):
                return
        run_job(app, name, due)


def serve(app, stopping):
    """Runs every job on its schedule until `stopping` is set; each job in its own thread,
    as each is its own Lambda on AWS. A schedule it cannot read stops it here, at once."""
    jobs = schedules(app)
    for expression in jobs.values():
        next_due(expression, datetime.now(timezone.utc))
    threads = [threading.Thread(target=_keep_running, args=(app, name, expression, stopping),
                                name=f"job {name}", daemon=True)
               for name, expression in jobs.items()]
    for thread in threads:
        thread.start()
    return threads


def load_app():
    """The app as `chalice local --stage local` loads it: the stage's environment variables
    set first (os.environ is updated), then app.py imported."""
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(str(processes.ROOT), environ=os.environ)
    return factory.create_config_obj(chalice_stage_name=STAGE).chalice_app


def _listing(app):
    now = datetime.now(timezone.utc)
    jobs = schedules(app)
    width = max(len(name) for name in jobs)
    lines = [f"{name:<{width}}  {expression.to_string():<24}  next "
             f"{next_due(expression, now):%Y-%m-%d %H:%M} UTC"
             for name, expression in jobs.items()]
    return "\n".join(["jobs (run one now: make jobs JOB=<name>):", *lines])


def _to_running_make_run():
    """Points this process at a running `make run`'s DynamoDB Local and sandbox; raises
    RuntimeError when none is running."""
    ports = processes.run_ports()
    dynamodb, sandbox, sandbox_tls = (ports[part][0] for part in
                                      ("dynamodb", "sandbox", "sandbox_tls"))
    ca_dir = processes.run_ca_dir(sandbox)
    if not processes.is_listening(dynamodb) or not ca_dir.is_dir():
        raise RuntimeError(f"no `make run` is running here (DynamoDB Local on port {dynamodb}, "
                           f"DYNAMODB_PORT; WeChat sandbox on port {sandbox}, "
                           f"WECHAT_SANDBOX_PORT): start it first, in another terminal")
    os.environ.update(processes.local_environment(dynamodb, sandbox, sandbox_tls, ca_dir))


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m devtools.jobs",
                                     description="List the app's scheduled jobs, or run one "
                                                 "now against a running `make run`.")
    parser.add_argument("job", nargs="?", help="the job's schedule name (orders-minute, "
                                               "events, refunds, …); none lists them")
    parser.add_argument("--list", action="store_true", help="list the jobs and schedules")
    parser.add_argument("--serve", action="store_true",
                        help="run every job on its schedule until stopped (make run does)")
    arguments = parser.parse_args(argv)
    if arguments.serve:
        if not os.environ.get("DYNAMODB_HOST"):  # never a deployed brand's tables
            print("jobs: --serve runs under `make run` (DYNAMODB_HOST is not set)",
                  file=sys.stderr)
            return 2
        return processes.serve_until_stopped(
            lambda stopping: serve(load_app(), stopping), STOP_GRACE_S)
    if arguments.list or not arguments.job:
        print(_listing(load_app()))
        return 0
    app = load_app()
    if arguments.job not in schedules(app):
        print(f"no job named {arguments.job!r}; the jobs are: {', '.join(schedules(app))}",
              file=sys.stderr)
        return 2
    try:
        _to_running_make_run()
    except RuntimeError as exc:
        print(f"jobs: {exc}", file=sys.stderr)
        return 1
    return 0 if run_job(app, arguments.job) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
