"""A live session's figures: viewers, paid orders, buyers, GMV, units per product, and
conversion (buyers / viewers).

One item per session holds the counters. Each is moved in a transaction whose first item is
a mark that may be written once (the viewer, the paid order, the buyer), so a repeated
enter, a repeated pay notify or reconciliation finding the order paid counts nothing more.
The order's own counters and its buyer's are two transactions: a failure between them is
finished when the order_paid event is delivered again.
"""
from pynamodb.exceptions import TransactWriteError

from chalicelib.core import retry
from chalicelib.db.base import Cancellation, transaction
from chalicelib.promotions.live.models import LiveFigures, LiveMark

ATTEMPTS = 12


def _once(session_id, mark, now, actions):
    """The mark and the counters' actions together, or nothing if the mark exists. Viewers
    entering at once race on the figures item: a transaction that lost is tried again."""
    for attempt in retry.attempts(ATTEMPTS):
        try:
            with transaction() as writes:
                writes.save(LiveMark(session_id, mark, at=now),
                            condition=LiveMark.mark.does_not_exist(), name="mark")
                writes.update(LiveFigures(session_id), actions=actions,
                              condition=LiveFigures.session_id.exists(), name="figures")
            return True
        except TransactWriteError as error:
            cancelled = Cancellation.of(error)
            if cancelled.failed("mark"):
                return False
            if not cancelled.conflict or attempt == ATTEMPTS - 1:
                raise


def on_enter(session_id, member_id, now):
    return _once(session_id, f"viewer#{member_id}", now, [LiveFigures.viewers.add(1)])


def on_paid(order):
    """A live order was paid: the order counted once, its member once as a buyer."""
    units = {}
    for line in order.breakdown["lines"]:
        units[line["sku_id"]] = units.get(line["sku_id"], 0) + line["quantity"]
    session_id, now = order.live_session_id, order.paid_at
    _once(session_id, f"order#{order.order_id}", now, [
        LiveFigures.orders.add(1), LiveFigures.gmv_fen.add(order.total_fen),
        *[LiveFigures.units[sku_id].set(LiveFigures.units[sku_id] + quantity)
          for sku_id, quantity in units.items()]])
    _once(session_id, f"buyer#{order.member_id}", now, [LiveFigures.buyers.add(1)])


def audiences(session_ids):
    """{session id: (viewers, buyers)} of the sessions, each over its whole life, in
    BatchGets: the conversion a report shows beside a session's figures."""
    wanted = sorted(set(session_ids))
    return {figures.session_id: (figures.viewers, figures.buyers)
            for figures in LiveFigures.batch_get(wanted)} if wanted else {}


def figures_view(session):
    figures = LiveFigures.get(session.session_id, consistent_read=True)
    units = figures.units.as_dict() if hasattr(figures.units, "as_dict") else dict(figures.units)
    return {"session_id": session.session_id, "status": session.status,
            "viewers": figures.viewers, "orders": figures.orders, "buyers": figures.buyers,
            "gmv_fen": figures.gmv_fen,
            "units": [{"sku_id": item["sku_id"], "name": item["name"],
                       "units": int(units.get(item["sku_id"], 0))}
                      for item in session.lineup],
            "conversion": round(figures.buyers / figures.viewers, 4) if figures.viewers
            else None}
