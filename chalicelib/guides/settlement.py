"""Settling guides' commissions once their orders' return window has passed: a daily job that
reads, through a sparse index, only the sales settling on the days since its last run.

A sale settles once, for the commission still due then (refunds until that day have already
taken theirs back). A refund after settlement still takes its commission off the month, so the
month's commission_fen falls below its settled_fen: the difference is owed back.
"""
import json
from datetime import date, timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import transaction, unchanged
from chalicelib.guides.commissions import SHANGHAI, month_of, paid_at_of
from chalicelib.guides.models import GuideMonth, GuideSale

JOB = "job:settle-commissions"
CATCH_UP_DAYS = 60


def _settle(sale, now):
    due = sale.commission_fen - sale.commission_reversed_fen
    with transaction() as writes:
        writes.update(sale, actions=[GuideSale.settled_at.set(now),
                                     GuideSale.settled_fen.set(due),
                                     GuideSale.settle_day.remove()],
                      condition=GuideSale.settled_at.does_not_exist()
                      & unchanged(GuideSale.commission_reversed_fen,
                                  sale.commission_reversed_fen), name="sale")
        writes.update(GuideMonth(sale.guide_id, month_of(paid_at_of(sale))),
                      actions=[GuideMonth.settled_fen.add(due)], name="month")
    return due


def _last_day_done(today):
    from chalicelib.db.settings import BrandSetting

    try:
        return date.fromisoformat(json.loads(BrandSetting.get(JOB).document)["last_day"])
    except DoesNotExist:
        return today - timedelta(days=1)


def run(clock=system_clock):
    """Settles every sale whose settle day has come since the last run. Returns
    (sales settled, fen settled)."""
    from chalicelib.db.settings import BrandSetting

    now = clock.now()
    today = now.astimezone(SHANGHAI).date()
    day = max(_last_day_done(today) + timedelta(days=1), today - timedelta(days=CATCH_UP_DAYS))
    settled = settled_fen = 0
    while day <= today:
        for sale in GuideSale.by_settle_day.query(day.isoformat()):
            for _ in range(10):
                try:
                    settled_fen += _settle(sale, now)
                    settled += 1
                    break
                except TransactWriteError:
                    sale.refresh(consistent_read=True)  # a refund came in meanwhile
                    if sale.settled_at is not None:
                        break
        day += timedelta(days=1)
    BrandSetting(JOB, document=json.dumps({"last_day": today.isoformat()}),
                 updated_at=now).save()
    logs.info("job_done", job="settle-commissions", settled=settled, settled_fen=settled_fen)
    return settled, settled_fen
