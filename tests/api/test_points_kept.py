"""Points follow the goods a member keeps. Over any sequence of payments, refunds (partial and
whole, settling in any order, or given up), cancels and expiries:

    balance − debt = points earned on goods kept − points spent on goods kept
                     ± admin adjustments − points expired

and the balance is 0 whenever there is a debt (a clawback takes what is there; the rest is
owed and paid by the next credits). Against DynamoDB Local and the WeChat sandbox."""
import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _id, _sku
from tests.api.test_payments import _order, _place, _post
from tests.api.test_refunds import _hold, _paid, _settle_in_wechat, _settled
from tests.conftest import STORE_A, body_of, wechat_minute_passes


def _member(member_id):
    from chalicelib.members.models import Member

    return Member.get(member_id, consistent_read=True)


def _held_points(member):
    """What a member owns in points: the balance less what they owe."""
    return member.points_balance - getattr(member, "points_debt", 0)


def test_the_farming_cycle_of_pay_hold_refund_cancel_gains_nothing(
        client, shopper, served_app, sandbox_url):
    """Pay A, put its points on an unpaid B, refund A, cancel B: each cycle used to leave
    A's points with the shopper."""
    from chalicelib.members import points

    headers, member_id = shopper
    sku = _sku(price_fen=10_000, stock=30)
    for cycle in range(3):
        paid = _paid(client, sandbox_url, headers, sku)
        assert _member(member_id).points_balance == 100
        held = _place(client, headers, sku, 2, points=100)
        assert held["breakdown"]["points"] == 100 and _member(member_id).points_balance == 0
        refund = body_of(_post(client, f"/orders/{paid['order_id']}/refund", headers,
                               {"reason": "farm"}))
        assert _settled(sandbox_url, paid["order_id"], refund["refund_id"]) == "SUCCESS"
        assert _held_points(_member(member_id)) == -100  # owed: the points are on B
        assert body_of(_post(client, f"/orders/{held['order_id']}/cancel", headers)
                       )["status"] == "CLOSED"

        member = _member(member_id)
        assert _held_points(member) == 0 and member.points_balance == 0, f"cycle {cycle}"
    ledger = points.ledger_page(member_id, 100)["entries"]
    release = next(entry for entry in ledger if entry["source"] == "release")
    assert (release["delta"], release["debt_change"], release["balance_after"]) == (100, -100, 0)


def test_a_member_in_debt_cannot_spend(client, shopper, served_app, sandbox_url):
    from chalicelib.errors import DomainError
    from chalicelib.members import points

    headers, member_id = shopper
    points.change_points(member_id, -30, "refund", _id("r"), to_debt=True)
    assert (_member(member_id).points_balance, _member(member_id).points_debt) == (0, 30)
    with pytest.raises(DomainError) as refused:
        points.change_points(member_id, -1, "admin", _id("take"))
    assert refused.value.code == "insufficient_points"
    points.change_points(member_id, 50, "admin", _id("gift"))  # pays the debt first
    assert (_member(member_id).points_balance, _member(member_id).points_debt) == (20, 0)


def test_fifteen_one_unit_refunds_take_back_all_the_order_earned(client, shopper, served_app,
                                                                 sandbox_url):
    from chalicelib.orders import refunds

    headers, member_id = shopper
    sku = _sku(price_fen=1_230, stock=15)
    order = _paid(client, sandbox_url, headers, sku, 15)  # 184.50 yuan: 184 points and growth
    assert (_member(member_id).points_balance, _member(member_id).growth) == (184, 184)

    for _ in range(15):
        refund = refunds.request(order["order_id"], {sku: 1}, "one by one", "test")
        assert _settled(sandbox_url, order["order_id"], refund.refund_id) == "SUCCESS"
        wechat_minute_passes(sandbox_url)

    member = _member(member_id)
    assert (member.points_balance, member.points_debt, member.growth) == (0, 0, 0)
    assert _order(order["order_id"]).status == "REFUNDED"


class Shopping:
    """One shopper's history, and what the rules say their points and growth should be."""

    def __init__(self, client, sandbox_url, headers, member_id, rng):
        self.client, self.sandbox_url = client, sandbox_url
        self.headers, self.member_id, self.rng = headers, member_id, rng
        self.skus = [_sku(price_fen=price, stock=200) for price in (990, 1_230, 2_345)]
        self.paid, self.unpaid, self.held_refunds = [], [], []
        self.admin = 0
        self.paid_goods_fen = 0

    # The steps ---------------------------------------------------------------------------

    def pay(self):
        quantity = self.rng.randint(1, 3)
        sku = self.rng.choice(self.skus)
        if self.paid_goods_fen + 3 * 2_345 > 90_000:
            return "skip"  # stays below gold (growth 1,000), where points come at 150 %
        order = _paid(self.client, self.sandbox_url, self.headers, sku, quantity,
                      points=self.rng.choice([0, 0, 37, 10_000]))
        self.paid.append(order["order_id"])
        self.paid_goods_fen += order["total_fen"]
        return "pay"

    def hold(self):
        if len(self.unpaid) >= 3:
            return "skip"  # within the limits of pending orders a member may hold
        order = _place(self.client, self.headers, self.rng.choice(self.skus),
                       self.rng.randint(1, 4), points=self.rng.choice([50, 10_000]))
        self.unpaid.append(order["order_id"])
        return "hold"

    def cancel(self):
        if not self.unpaid:
            return "skip"
        order_id = self.unpaid.pop(self.rng.randrange(len(self.unpaid)))
        answer = _post(self.client, f"/orders/{order_id}/cancel", self.headers)
        assert body_of(answer)["status"] == "CLOSED"
        return "cancel"

    def expire(self):
        from chalicelib.orders import closing as lifecycle

        if not self.unpaid:
            return "skip"
        order_id = self.unpaid.pop(self.rng.randrange(len(self.unpaid)))
        assert lifecycle.close_unpaid(_order(order_id), "expired").status == "CLOSED"
        return "expire"

    def refund(self):
        from chalicelib.orders import refunds

        open_orders = [o for o in self.paid if self._left(_order(o))
                       and not _order(o).refunds_in_flight]  # one refund at a time
        if not open_orders:
            return "skip"
        order = _order(self.rng.choice(open_orders))
        left = self._left(order)
        if self.rng.random() < 0.3:
            wanted = None  # all that is left
        else:
            sku = self.rng.choice(sorted(left))
            wanted = {sku: self.rng.randint(1, left[sku])}
        hold = self.rng.random() < 0.4
        if hold:
            _hold(self.sandbox_url, f"{order.order_id}-r{order.refund_count + 1:02d}")
        wechat_minute_passes(self.sandbox_url)  # since the order's last refund, if any
        refund = refunds.request(order.order_id, wanted, "property", "test")
        if hold:
            self.held_refunds.append((order.order_id, refund.refund_id))
        else:
            assert _settled(self.sandbox_url, order.order_id, refund.refund_id) == "SUCCESS"
        return "refund"

    def settle(self):
        if not self.held_refunds:
            return "skip"
        order_id, refund_id = self.held_refunds.pop(self.rng.randrange(len(self.held_refunds)))
        result = "REFUNDCLOSE" if self.rng.random() < 0.2 else "SUCCESS"
        _settle_in_wechat(self.sandbox_url, refund_id, result)
        assert _settled(self.sandbox_url, order_id, refund_id) in ("SUCCESS", "FAILED")
        return "settle"

    def adjust(self):
        from chalicelib.errors import DomainError
        from chalicelib.members import points

        delta = self.rng.choice([-80, -5, 20, 150])
        try:
            points.change_points(self.member_id, delta, "admin", _id("adjust"))
        except DomainError as refused:
            assert refused.code == "insufficient_points"
            return "skip"
        self.admin += delta
        return "adjust"

    STEPS = {"pay": 5, "hold": 3, "cancel": 2, "expire": 1, "refund": 5, "settle": 2,
             "adjust": 1}

    def step(self):
        name = self.rng.choices(list(self.STEPS), weights=list(self.STEPS.values()))[0]
        return getattr(self, name)()

    # What the rules say ------------------------------------------------------------------

    @staticmethod
    def _left(order):
        done = order.refunded_quantities or {}
        return {line["sku_id"]: line["quantity"] - done.get(line["sku_id"], 0)
                for line in order.breakdown["lines"]
                if line["quantity"] > done.get(line["sku_id"], 0)}

    def expected(self, expired=0):
        """(points, growth) the member should hold, from the orders and refunds as stored."""
        from chalicelib.orders.models import Refund

        points = self.admin - expired
        growth = 0
        for order_id in self.paid + self.unpaid:
            order = _order(order_id)
            if order.status == "CLOSED":
                continue
            points -= order.points_used
            if order.paid_at is None:
                continue
            goods_fen = order.total_fen - order.breakdown["delivery_fee_fen"]
            earned = goods_fen // 100  # silver: 1 point and 1 growth a yuan
            settled = [r for r in Refund.query(order_id) if r.status == "SUCCESS"]
            refunded_goods = sum(r.refund_fen - r.delivery_fee_fen for r in settled)
            points += earned - earned * refunded_goods // goods_fen
            points += sum(r.points for r in settled)
            growth += earned - earned * refunded_goods // goods_fen
            if order.status == "REFUNDED":
                assert sum(r.points for r in settled) == order.points_used
        return points, growth

    def check(self, expired=0):
        from chalicelib.members.models import PointsEntry

        member = _member(self.member_id)
        assert member.points_balance >= 0 and member.points_debt >= 0
        assert member.points_balance == 0 or member.points_debt == 0
        assert (_held_points(member), member.growth) == self.expected(expired)
        entries = list(PointsEntry.query(self.member_id, consistent_read=True))
        assert sum(entry.delta for entry in entries) == _held_points(member)
        if entries:
            assert (entries[-1].balance_after, entries[-1].debt_after) == (
                member.points_balance, member.points_debt)


@pytest.mark.parametrize("seed", [7, 2024, 99])
def test_points_follow_the_goods_kept_over_any_sequence(client, served_app, sandbox_url, seed):
    from chalicelib.members import points
    from tests.conftest import WeChatUser, sign_in

    rng = random.Random(seed)
    headers, session = sign_in(client, WeChatUser(f"sequence-{uuid.uuid4().hex[:10]}"))
    shopping = Shopping(client, sandbox_url, headers, session["member"]["member_id"], rng)
    steps = []
    for _ in range(40):
        steps.append(shopping.step())
        shopping.check()
    while shopping.held_refunds:
        steps.append(shopping.settle())
        shopping.check()
    assert {"pay", "refund", "hold"} <= set(steps), steps

    # A year and more on, every credit not spent lapses; what is owed stays owed.
    expired = points.expire_due(shopping.member_id, FixedClock(
        datetime.now(timezone.utc) + timedelta(days=400)))
    assert expired >= 0
    shopping.check(expired=_member(shopping.member_id).points_expired_total)
