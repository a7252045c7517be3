"""Settling guides' commissions once their orders' return window has passed: a daily job that
reads, through a sparse index, only the sales settling on the days since its last run.

A sale settles once, for the commission still due then (refunds until that day have already
taken theirs back). A refund after settlement still takes its commission off the sale, so its
month's commission_fen falls below its settled_fen: the difference is owed back.
"""
from datetime import timedelta

from pynamodb.exceptions import UpdateError

from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock
from chalicelib.db import cursors
from chalicelib.db import partitions
from chalicelib.db.base import unchanged
from chalicelib.guides.commissions import SHANGHAI
from chalicelib.guides.models import GuideSale

JOB = "settle-commissions"  # its cursor
CATCH_UP_DAYS = 60


def _settle(sale, now):
    due = sale.commission_fen - sale.commission_reversed_fen
    sale.update(actions=[GuideSale.settled_at.set(now), GuideSale.settled_fen.set(due),
                         GuideSale.settle_day.remove()],
                condition=GuideSale.settled_at.does_not_exist()
                & unchanged(GuideSale.commission_reversed_fen, sale.commission_reversed_fen))
    return due


def run(clock=system_clock):
    """Settles every sale whose settle day has come since the last run. Returns
    (sales settled, fen settled)."""
    now = clock.now()
    today = now.astimezone(SHANGHAI).date()
    last_done = cursors.last_day(JOB) or today - timedelta(days=1)
    day = max(last_done + timedelta(days=1), today - timedelta(days=CATCH_UP_DAYS))
    settled = settled_fen = 0
    while day <= today:
        keys = [(sale.guide_id, sale.sale_key) for key in partitions.every(day.isoformat())
                for sale in GuideSale.by_settle_day.query(key)]
        for sale in GuideSale.batch_get(keys) if keys else ():
            for _ in range(10):
                try:
                    settled_fen += _settle(sale, now)
                    settled += 1
                    break
                except UpdateError:
                    sale.refresh(consistent_read=True)  # a refund came in meanwhile
                    if sale.settled_at is not None:
                        break
        day += timedelta(days=1)
    cursors.cover_day(JOB, today, now)
    logs.info("job_done", job="settle-commissions", settled=settled, settled_fen=settled_fen)
    return settled, settled_fen
