"""A scripted month of visits, orders and refunds (partial and full) across 3 stores, 4
channels and 2 guides, fed to the figures as the stream would (in batches, shuffled, some
again, some halved): every report figure equals a brute-force count from the script."""
import random
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from chalicelib.core.clock import SHANGHAI, FixedClock

CHANNELS = ("mall", "flash_sale", "group_buy", "live")
START = datetime(2033, 5, 1, tzinfo=SHANGHAI)
DAYS = 31
SUMS = ("orders", "gmv_fen", "refunds", "refunded_fen", "units", "coupon_fen", "points_fen")
DISTINCT = ("visitors", "buyers", "repeat_buyers", "new_buyers", "valid_members")


def _day(moment):
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d")


def _script(stores, guides):
    """(orders, refunds, visits) of a month, by a seeded random."""
    from chalicelib.orders.events import SettledRefund

    rng = random.Random(17)
    tag = uuid.uuid4().hex[:6]
    members = [f"m-{tag}-{n}" for n in range(24)]
    guide_of = {member: (guides + [None])[n % 3] for n, member in enumerate(members)}
    orders, refunds, visits, first_paid = [], [], [], {}
    for n in range(160):
        member = rng.choice(members)
        at = START + timedelta(days=rng.randrange(DAYS), minutes=rng.randrange(24 * 60))
        channel = rng.choice(CHANNELS)
        quantity, price = rng.randint(1, 3), rng.choice((990, 1_500, 4_200))
        coupon = rng.choice((0, 0, 300))
        orders.append(SimpleNamespace(
            order_id=f"o-{tag}-{n}", member_id=member, store_id=rng.choice(stores),
            channel=channel, guide_id=guide_of[member], paid_at=at,
            flash_sale_id="fs-1" if channel == "flash_sale" else None,
            group_buy_id="gb-1" if channel == "group_buy" else None,
            live_session_id="live-1" if channel == "live" else None,
            total_fen=quantity * price - coupon,
            breakdown={"lines": [{"quantity": quantity}], "coupon_discount_fen": coupon,
                       "points_fen": 0, "coupon_id": "c-1" if coupon else None}))
    for order in sorted(orders, key=lambda o: o.paid_at):  # each member's how manieth
        first_paid.setdefault(order.member_id, order.paid_at)
        order.member_order_number = sum(1 for o in orders if o.member_id == order.member_id
                                        and o.paid_at <= order.paid_at)
        order.member_first_paid_at = first_paid[order.member_id]
    for order in rng.sample(orders, 40):
        parts = [order.total_fen] if rng.random() < 0.5 else [order.total_fen // 3, 100]
        for number, fen in enumerate(parts, start=1):
            refunds.append(SettledRefund(order, number, fen,
                                         order.paid_at + timedelta(hours=rng.randint(1, 60))))
    for _ in range(120):
        at = START + timedelta(days=rng.randrange(DAYS), minutes=rng.randrange(24 * 60))
        visits.append((rng.choice(members), rng.choice(stores), at))
    reachable = {member for member in members[::4]} | {m for m in members if guide_of[m]}
    return orders, refunds, visits, reachable


def _feed(orders, refunds, visits, stores, reachable):
    """In time, as the app sees them: each visit when it happens; the orders stream's batches
    within hours (a record lives 24), one a window of six hours, shuffled, every third again
    an hour later, whole and halved."""
    from chalicelib.figures import feed, traffic

    def add(batch, moment):
        feed.add(batch, FixedClock(moment), reachable=lambda ids: set(ids) & reachable)

    timeline = []
    for member, store_id, at in visits:
        kind = ("store_visit", "product_view", "share_open")[hash(member) % 3]
        timeline.append((at, lambda m=member, s=store_id, k=kind, t=at: traffic.record(
            m, [{"kind": k, "store_id": s}], FixedClock(t))))
    windows = defaultdict(list)
    for contribution in [*map(feed.paid, orders), *map(feed.refunded, refunds)]:
        windows[int(contribution.at.timestamp()) // (6 * 3600)].append(contribution)
    shuffle = random.Random(5).shuffle
    for window, batch in windows.items():
        shuffle(batch)
        handed = datetime.fromtimestamp((window + 1) * 6 * 3600, timezone.utc)
        timeline.append((handed, lambda b=batch, t=handed: add(b, t)))
        if window % 3 == 0:
            again = handed + timedelta(hours=1)
            timeline.append((again, lambda b=batch, t=again: (add(b, t),
                                                              add(b[:len(b) // 2], t))))
    for _, happen in sorted(timeline, key=lambda pair: pair[0]):
        happen()


@pytest.fixture(scope="module")
def month(local_services):
    from tests.api.test_figures import _store

    stores = [_store() for _ in range(3)]
    guides = [f"guide-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    orders, refunds, visits, reachable = _script(stores, guides)
    _feed(orders, refunds, visits, stores, reachable)
    return SimpleNamespace(stores=stores, guides=guides, orders=orders, refunds=refunds,
                           visits=visits, reachable=reachable)


def _expected(month, days, store_id=None, channel=None, key=None, group_by="day",
              exact=True):
    """The figures of the orders, refunds and visits in `days` that match the filters and
    the row (key of group_by), counted from the script itself."""
    def matches(order):
        return (store_id in (None, order.store_id) and channel in (None, order.channel)
                and (group_by == "day" or key is None
                     or key == {"store": order.store_id, "channel": order.channel,
                                "guide": order.guide_id}[group_by])
                and (group_by != "guide" or order.guide_id))

    if not exact:  # an upper bound: the days' distinct counts added
        parts = [_expected(month, [day], store_id, channel, key, group_by) for day in days]
        return {name: sum(part[name] for part in parts) for name in SUMS + DISTINCT}
    visited = channel is None and group_by in ("day", "store") if key is not None else \
        channel is None and group_by != "guide"
    paid = [o for o in month.orders if _day(o.paid_at) in days and matches(o)]
    refunded = [r for r in month.refunds if _day(r.settled_at) in days and matches(r.order)]
    bought = defaultdict(int)
    for order in paid:
        bought[order.member_id] += 1
    visitors = set(bought) | {member for member, store, at in month.visits
                              if _day(at) in days and store_id in (None, store)
                              and (group_by != "store" or key in (None, store))}
    repeat = {member for member, count in bought.items() if count >= 2}
    return {"orders": len(paid), "gmv_fen": sum(o.total_fen for o in paid),
            "units": sum(o.breakdown["lines"][0]["quantity"] for o in paid),
            "coupon_fen": sum(o.breakdown["coupon_discount_fen"] for o in paid),
            "points_fen": 0, "refunds": len(refunded),
            "refunded_fen": sum(r.refund_fen for r in refunded),
            "buyers": len(bought), "repeat_buyers": len(repeat),
            "new_buyers": sum(1 for o in paid if o.member_order_number == 1),
            "visitors": len(visitors) if visited else 0,
            "valid_members": len(repeat & month.reachable) if visited else 0}


def _figures(row):
    return {name: row[name] for name in SUMS + DISTINCT}


ALL_DAYS = [(START + timedelta(days=n)).strftime("%Y-%m-%d") for n in range(DAYS)]


@pytest.mark.parametrize("group_by", ["day", "store", "channel", "guide"])
@pytest.mark.parametrize("filters", ["none", "store", "channel", "both"])
@pytest.mark.parametrize("span", ["month", "one_day", "ten_days"])
def test_every_sales_figure_equals_the_count_from_the_orders(month, group_by, filters, span):
    """Exact over a day and a calendar month; over ten days the sums are exact, the distinct
    visitors and buyers an upper bound (the days' added), and repeat buyers not given."""
    from chalicelib.figures import reports

    store_id = month.stores[1] if filters in ("store", "both") else None
    channel = "live" if filters in ("channel", "both") else None
    days = {"month": ALL_DAYS, "one_day": ALL_DAYS[9:10], "ten_days": ALL_DAYS[3:13]}[span]
    exact = span != "ten_days"
    report = reports.sales(days[0], days[-1], store_id=store_id, channel=channel,
                           group_by=group_by)
    assert report["distinct_counts"] == ("exact" if exact else "upper_bound")
    rows = {row["key"]: row for row in report["rows"]}
    if group_by == "guide":
        assert set(rows) <= set(month.guides)
    for key, row in rows.items():
        if group_by == "day":
            assert _figures(row) == _expected(month, [key], store_id, channel), key
        else:
            _check(row, month, days, exact, store_id, channel, key, group_by)
    if group_by != "guide":  # a guide ranking's totals are its rows'
        _check(report["totals"], month, days, exact, store_id, channel, None, group_by)


def _check(row, month, days, exact, store_id, channel, key, group_by):
    truth = _expected(month, days, store_id, channel, key, group_by)
    if exact:
        assert _figures(row) == truth, key
        return
    days_added = _expected(month, days, store_id, channel, key, group_by, exact=False)
    for name in SUMS + ("new_buyers",):
        assert row[name] == truth[name], (key, name)
    for name in ("visitors", "buyers"):
        assert row[name] == days_added[name] >= truth[name], (key, name)
    assert row["repeat_buyers"] is row["valid_members"] is row["repurchase_rate"] is None


def test_the_members_and_cohorts_follow_the_orders(month):
    from chalicelib.figures import reports

    store_id = month.stores[0]
    answer = reports.members(ALL_DAYS[0], ALL_DAYS[-1], store_id)
    truth = _expected(month, ALL_DAYS, store_id)
    assert {name: answer["totals"][name] for name in ("visitors", "buyers", "repeat_buyers",
                                                      "valid_members")} == \
        {name: truth[name] for name in ("visitors", "buyers", "repeat_buyers",
                                        "valid_members")}

    [may] = reports.ltv("2033-05", "2033-05")["rows"]
    firsts = [o for o in month.orders if o.member_order_number == 1]
    assert may["members"] == len(firsts)

    def net_within(days):
        limit = timedelta(days=days)
        gmv = sum(o.total_fen for o in month.orders if o.paid_at - o.member_first_paid_at < limit)
        back = sum(r.refund_fen for r in month.refunds
                   if r.settled_at - r.order.member_first_paid_at < limit)
        return gmv - back

    assert (may["net_30d_fen"], may["net_365d_fen"]) == (net_within(30), net_within(365))
    assert may["ltv_30d_fen"] == net_within(30) // len(firsts)
