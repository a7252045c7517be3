"""What guides earn: each paid order attributed to a guide is one sale in the guide's list,
one conditional write per guide who earns on it; a month's totals are its sales summed. A sale
is recorded when an order is paid and a refund taken off it when money goes back; both may be
called again for the same event (a redelivered payment, a retried job) and count once."""
from datetime import datetime, timedelta

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.config import settings
from chalicelib.core.clock import SHANGHAI, utc_text
from chalicelib.db import partitions
from chalicelib.db.base import unchanged
from chalicelib.guides.models import GuideSale

_CONDITION_FAILED = "ConditionalCheckFailedException"


def commission(paid_fen, rate_bp):
    """The guide's share of a payment, in whole fen, rounded down."""
    return paid_fen * rate_bp // 10_000


def tier_rate_bp(tier):
    """What a tier earns, in basis points of the payment: the order's guide (tier 1) the
    guide commission, the guide who recruited them (tier 2) the smaller second-tier one."""
    return settings.guide_commission_bp if tier == 1 else settings.guide_second_tier_bp


def refund_share(sale, refund_fen):
    """(the part of the refund still paid on the sale, the commission it takes back). The
    commission still due is the one on what stays paid, so refunds in any split take back
    exactly the commission earned, and never more than the sale had paid."""
    refunded = min(refund_fen, sale.paid_fen - sale.refunded_fen)
    due = commission(sale.paid_fen - sale.refunded_fen - refunded, sale.commission_bp)
    return refunded, sale.commission_fen - sale.commission_reversed_fen - due


def month_of(moment):
    return moment.astimezone(SHANGHAI).strftime("%Y-%m")


def settle_day(paid_at):
    """The day (Asia/Shanghai) a sale's commission settles: when its return window has ended."""
    return (paid_at.astimezone(SHANGHAI).date()
            + timedelta(days=settings.return_window_days + 1)).isoformat()


def sale_key(paid_at, order_id):
    return f"{utc_text(paid_at)}#{order_id}"


def _month_bounds(month):
    """The first instant of the month in Shanghai and of the next one."""
    year, number = map(int, month.split("-"))
    start = datetime(year, number, 1, tzinfo=SHANGHAI)
    following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, following


def earners(buyer_id, guide, recruiter):
    """Who earns on a paid order, as [{"guide_id", "tier"}]: the order's guide, and the guide
    who recruited them (one level up, never more). No I/O: guide and recruiter are their
    current staff records (None for someone who is no longer staff).

    Only a guide at payment earns (a removed guide's customers the hand-over missed earn them
    nothing), and nobody earns on their own purchase: a guide buying (bound to themselves,
    or in their own live session) is no sale of theirs, so their recruiter earns nothing on it
    either; a recruiter buying from their recruit gives the recruit their commission only."""
    from chalicelib.members.staff import GUIDE

    if guide is None or guide.role != GUIDE or guide.member_id == buyer_id:
        return []
    found = [{"guide_id": guide.member_id, "tier": 1}]
    if recruiter is not None and recruiter.role == GUIDE and recruiter.member_id != buyer_id:
        found.append({"guide_id": recruiter.member_id, "tier": 2})
    return found


def order_earners(guide_id, member_id):
    """Who earns on a paid order of the member's, bound to the guide (see earners), as they
    are staff now: [{"guide_id", "tier"}]."""
    from chalicelib.members.staff import staff_of

    guide = staff_of(guide_id)
    recruiter = staff_of(guide.invited_by) if guide and guide.invited_by else None
    return earners(member_id, guide, recruiter)


def record_sale(guide_id, order_id, member_id, store_id, channel, paid_fen, paid_at,
                rate_bp=None, tier=1):
    """Attributes a paid order to the guide. Returns the commission, or None if the order was
    recorded before."""
    rate_bp = settings.guide_commission_bp if rate_bp is None else rate_bp
    earned = commission(paid_fen, rate_bp)
    sale = GuideSale(guide_id, sale_key(paid_at, order_id), order_id=order_id,
                     member_id=member_id, store_id=store_id, channel=channel,
                     paid_fen=paid_fen, commission_bp=rate_bp, commission_fen=earned, tier=tier,
                     settle_day=partitions.spread(settle_day(paid_at), order_id)
                     if earned else None)

    try:
        sale.save(condition=GuideSale.sale_key.does_not_exist())
    except PutError as error:
        if error.cause_response_code == _CONDITION_FAILED:
            return None
        raise
    return earned


def record_refund(guide_id, order_id, paid_at, refund_id, refunded_fen):
    """Takes a refund off the sale, with the commission on it. Returns the commission taken
    back, or None if this refund was recorded before."""
    for _ in range(10):
        sale = GuideSale.get(guide_id, sale_key(paid_at, order_id), consistent_read=True)
        if refund_id in (sale.refund_ids or ()):
            return None
        refunded, taken_back = refund_share(sale, refunded_fen)
        try:
            # Conditioned on the refunds read, so two refunds at once cannot both count
            # against the same remainder; the loser reads again.
            sale.update(actions=[GuideSale.refunded_fen.add(refunded),
                                 GuideSale.commission_reversed_fen.add(taken_back),
                                 GuideSale.refund_ids.add({refund_id})],
                        condition=unchanged(GuideSale.refunded_fen, sale.refunded_fen))
            return taken_back
        except UpdateError as error:
            if error.cause_response_code != _CONDITION_FAILED:
                raise
    raise RuntimeError(f"Refund {refund_id} of order {order_id} kept losing races.")


def sale_view(sale):
    return {"order_id": sale.order_id, "paid_at": sale.sale_key.partition("#")[0],
            "member_id": sale.member_id, "store_id": sale.store_id, "channel": sale.channel,
            "tier": sale.tier, "paid_fen": sale.paid_fen, "refunded_fen": sale.refunded_fen,
            "commission_fen": sale.commission_fen - sale.commission_reversed_fen,
            "settled": sale.settled_at is not None}


def sales(guide_id, month, limit, cursor):
    """The guide's attributed orders paid in the month, newest first: one Query of their own
    partition, whatever the brand's volume."""
    from chalicelib.core.pagination import query_page

    start, following = _month_bounds(month)
    in_month = GuideSale.sale_key.between(utc_text(start), utc_text(following))
    return query_page(GuideSale, guide_id, sale_view, "orders", limit=limit, cursor=cursor,
                      range_key_condition=in_month, scan_index_forward=False)


def month_totals(guide_id, month):
    """The month's sales summed: read from the guide's own partition (the month's sales,
    whatever the brand's volume), never kept apart, so never out of step with them. A refund
    after a sale settled leaves commission_fen below settled_fen: the difference is owed
    back."""
    start, following = _month_bounds(month)
    totals = {"month": month, "orders": 0, "sales_fen": 0, "refunded_fen": 0,
              "commission_fen": 0, "settled_fen": 0}
    for sale in GuideSale.query(guide_id, GuideSale.sale_key.between(utc_text(start),
                                                                      utc_text(following))):
        totals["orders"] += 1
        totals["sales_fen"] += sale.paid_fen
        totals["refunded_fen"] += sale.refunded_fen
        totals["commission_fen"] += sale.commission_fen - sale.commission_reversed_fen
        totals["settled_fen"] += sale.settled_fen or 0
    return totals
