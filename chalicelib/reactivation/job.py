"""The daily reactivation job (01:00 Asia/Shanghai).

For each day since its last run (its cursor, db/cursors.py; missed days are caught up, at most
CATCH_UP_DAYS), the members who became dormant that day are those whose last order fell on
the day `dormant_days` before it (members.tags.last_ordered_on: one Query on that day's
partition of the members-by-last-order-day index and a BatchGet of those members, keeping
those whose last_order_at is still that day). Its reads follow the members it acts on, never
the pond.

Each of them, unless contacted within the cooldown, is contacted once: in one transaction the
contact is put on condition that none exists for the member today, the day's send counter
moves on condition it is under the cap, the report's counters move and, for a member handed
to a person, the task is written. A member WeChat can reach (an openid and a send credit for
the reactivation template) is then granted the come-back coupon and messaged; any other
member (an imported member with only a phone, no credit) goes on their guide's task list, or
their store's when they have no guide. Running the job again the same day contacts nobody.
Members beyond the day's cap are not carried over. Members are contacted WORKERS at a time;
the cap and the once-a-day rule hold whatever the order.
"""
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.db import cursors
from chalicelib.db.base import Cancellation, transaction
from chalicelib.members.tags import SHANGHAI, last_ordered_on
from chalicelib.reactivation import figures, settings
from chalicelib.reactivation.models import Contact, DayFigures, Task
from chalicelib.reactivation.tasks import owner_of

JOB = "reactivation"  # its cursor
CATCH_UP_DAYS = 30
WORKERS = 8  # members contacted at once
EVENT = "reactivation"
PAGE = "pages/coupons/index"


def _latest_contact(member_id):
    return next(iter(Contact.query(member_id, scan_index_forward=False, limit=1)), None)


def _reachable(member):
    if not member.openid:
        return False
    from chalicelib.notify import credits

    return credits.has_credit(member.member_id, EVENT)


def _count_found(today, run_day, found):
    """Adds the dormant members found for one covered day to today's counters, exactly once:
    each transaction carries a marker that a repeat of it would find."""
    scope_list = sorted(found)
    for start in range(0, len(scope_list), 24):
        chunk = scope_list[start:start + 24]
        try:
            with transaction() as writes:
                writes.save(DayFigures(today, f"found#{run_day}#{start}"),
                            condition=DayFigures.scope.does_not_exist(), name="marker")
                for scope in chunk:
                    writes.update(DayFigures(today, scope),
                                  actions=[DayFigures.dormant.add(found[scope])],
                                  name=f"figures#{scope}")
        except TransactWriteError as error:
            if not Cancellation.of(error).failed("marker"):
                raise


class _Run:
    def __init__(self, config, today, now, clock):
        self.config, self.today, self.now, self.clock = config, today, now, clock
        self.outcomes = Counter()
        self.cap_reached = False

    def contact(self, member):
        """One dormant member: the outcome (message, guide, cooldown, capped, unreachable,
        already)."""
        latest = _latest_contact(member.member_id)
        cooldown_from = (date.fromisoformat(self.today)
                         - timedelta(days=self.config["cooldown_days"])).isoformat()
        if latest is not None and latest.day > cooldown_from:
            return "cooldown" if latest.day != self.today else "already"
        if self.cap_reached or self.config["daily_cap"] <= 0:
            return "capped"
        store_id = member.home_store_id or member.current_store_id
        channel = "message" if _reachable(member) else "guide"
        owner = owner_of(member.guide_id, store_id)
        if channel == "guide" and owner is None:
            return "unreachable"
        contact = Contact(member.member_id, self.today, channel=channel, store_id=store_id,
                          guide_id=member.guide_id, contacted_at=self.now,
                          counts_until=self.now + timedelta(
                              days=self.config["reactivated_within_days"]))
        task = self._task(member, owner, store_id) if channel == "guide" else None
        contact.task_id = task.task_id if task else None
        try:
            with transaction() as writes:
                writes.save(contact, condition=Contact.member_id.does_not_exist(),
                            name="contact")
                writes.update(DayFigures(self.today, "cap"), actions=[DayFigures.sent.add(1)],
                              condition=DayFigures.sent.does_not_exist()
                              | (DayFigures.sent < self.config["daily_cap"]), name="cap")
                figures.add_in(writes, self.today, figures.scopes(store_id, member.guide_id),
                               **{"messaged" if channel == "message" else "guided": 1})
                if task:
                    writes.save(task, name="task")
        except TransactWriteError as error:
            cancelled = Cancellation.of(error)
            if cancelled.failed("contact"):
                return "already"
            if cancelled.failed("cap"):
                self.cap_reached = True
                return "capped"
            raise
        if channel == "message":
            return self._message(member, contact, owner)
        return "guide"

    def _task(self, member, owner, store_id, member_coupon_id=None):
        return Task(owner, new_id("tk"), member_id=member.member_id,
                    member_name=member.name or member.nickname, phone=member.phone,
                    store_id=store_id, guide_id=member.guide_id,
                    member_coupon_id=member_coupon_id, created_at=self.now,
                    note=f"No order for {self.config['dormant_days']} days: invite them back")

    def _message(self, member, contact, owner):
        """The coupon, then the message; if either cannot be done, a person takes over."""
        from chalicelib.coupons import wallet as coupons
        from chalicelib.notify import service

        coupon = None
        try:
            if self.config.get("coupon_id"):
                coupon = coupons.grant(member.member_id, self.config["coupon_id"],
                                       clock=self.clock)
            notification_id = service.notify(
                member.member_id, EVENT, _fields(coupon, self.now), PAGE,
                f"No order for {self.config['dormant_days']} days: come-back "
                + (f"coupon {coupon['name']}" if coupon else "message"),
                clock=self.clock, once_key=self.today)
            if notification_id is None:
                raise RuntimeError("the notification was not queued")
            contact.update(actions=[Contact.notification_id.set(notification_id)] + (
                [Contact.member_coupon_id.set(coupon["member_coupon_id"])] if coupon else []))
            return "message"
        except Exception:
            logs.exception("reactivation_message_failed", member_id=member.member_id)
        if owner is None:
            return "message_failed"
        task = self._task(member, owner, contact.store_id,
                          coupon["member_coupon_id"] if coupon else None)
        with transaction() as writes:
            writes.save(task, name="task")
            writes.update(contact, actions=[Contact.channel.set("guide"),
                                            Contact.task_id.set(task.task_id)] + (
                [Contact.member_coupon_id.set(coupon["member_coupon_id"])] if coupon else []),
                          condition=Contact.channel == "message", name="contact")
            figures.add_in(writes, self.today, figures.scopes(contact.store_id,
                                                              contact.guide_id),
                           messaged=-1, guided=1)
        return "guide"


def _fields(coupon, now):
    """The reactivation template's data (the notification service applies WeChat's rules)."""
    if coupon is None:
        return {"coupon": "新品上架，欢迎回来", "expires_at": now + timedelta(days=7),
                "note": "好久不见，欢迎回来看看"}
    return {"coupon": coupon["name"], "expires_at": coupon["valid_until"],
            "note": "好久不见，送您一张优惠券"}


def run_job(clock=system_clock):
    """Covers every day since the last run (today included); returns the outcomes counted."""
    now = clock.now()
    today_date = now.astimezone(SHANGHAI).date()
    today = today_date.isoformat()
    config = settings.current()
    read_cursor, last = cursors.read_day(JOB)
    if last is None:
        last = today_date - timedelta(days=1)
    first = max(last + timedelta(days=1), today_date - timedelta(days=CATCH_UP_DAYS - 1))
    run = _Run(config, today, now, clock)
    day = first
    while day <= today_date:
        if config["enabled"]:
            found = Counter()
            dormancy_day = (day - timedelta(days=config["dormant_days"])).isoformat()
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                contacted = []
                for member in last_ordered_on(dormancy_day):
                    run.outcomes["dormant"] += 1
                    for scope in figures.scopes(member.home_store_id
                                                or member.current_store_id, member.guide_id):
                        found[scope] += 1
                    contacted.append(pool.submit(run.contact, member))
                for outcome in contacted:
                    run.outcomes[outcome.result()] += 1
            _count_found(today, day.isoformat(), found)
        # on condition nobody else moved it since it was read
        read_cursor = cursors.cover_day_if_unchanged(JOB, day, read_cursor, now)
        day += timedelta(days=1)
    logs.info("job_done", job="reactivation", **run.outcomes)
    return dict(run.outcomes)
