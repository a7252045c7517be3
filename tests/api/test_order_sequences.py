"""Seeded random walks through the lives of orders, against the served app (over HTTP),
DynamoDB Local and the WeChat sandbox. A shopper places orders (pickup or delivery, some paid
partly with points) and pays them, though some payment notifies are lost (so cancelling and
expiring must ask WeChat first) and arrive late; the shopper refunds paid orders and the
store's manager refunds units of any; WeChat settles a refund at once or holds it, then says
SUCCESS, CHANGE or REFUNDCLOSE; staff resolve CHANGE refunds, hand orders over (redeem, ship,
deliver) and confirm goods back; WeChat repeats payment notifies and refund results, older
ones after newer. After every step:

- stock: the SKUs' stock + the units orders hold (unpaid, or paid and not refunded, handed
  over or not, refunded but awaited back) = what it started with;
- money, per order: the refunds WeChat paid out are those we count as succeeded; those and
  the ones in flight add up to at most what WeChat was paid; a refunded order gave it all
  back (but the delivery fee once shipped); an order WeChat was paid for is never closed as
  unpaid;
- points (and growth): balance − debt = earned on the goods kept − spent on the goods kept,
  and the balance is 0 whenever there is a debt;
- no refund in flight while an order is handed over: a refund asked for before the goods
  left settled before they did, and the order counts its refunds in flight exactly;
- every order is in a legal state, reached by a legal transition.
"""
import json
import random
import time
import uuid

import pytest
import requests

from tests.api.test_checkout import _sku
from tests.conftest import STORE_A, WeChatUser, new_staff, sign_in, wechat_minute_passes

PENDING, PAID, CLOSED = "PENDING_PAYMENT", "PAID", "CLOSED"
SHIPPED, COMPLETED, REFUNDED = "SHIPPED", "COMPLETED", "REFUNDED"
NEXT_STATES = {None: {PENDING}, PENDING: {PENDING, PAID, CLOSED},
               PAID: {PAID, SHIPPED, COMPLETED, REFUNDED},
               SHIPPED: {SHIPPED, COMPLETED, REFUNDED}, COMPLETED: {COMPLETED, REFUNDED},
               REFUNDED: {REFUNDED}, CLOSED: {CLOSED}}
SUCCESS, FAILED, CHANGE = "SUCCESS", "FAILED", "CHANGE"
IN_FLIGHT = ("REQUESTED", "PROCESSING", CHANGE)
ADDRESS = {"name": "张三", "phone": "13800000000", "address": "上海市黄浦区马当路 1 号"}
STOCK = 40


def _wait_for(predicate, what, timeout_s=15):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


class Walk:
    """One shopper's orders at store-xintiandi, the store's staff, WeChat; the steps, and the
    invariants checked after each."""

    def __init__(self, app_url, sandbox_url, shopper, member_id, manager, clerk, rng):
        self.app_url, self.sandbox_url, self.rng = app_url, sandbox_url, rng
        self.shopper, self.member_id, self.manager, self.clerk = shopper, member_id, manager, clerk
        self.skus = [_sku(price_fen=3_333, stock=STOCK), _sku(price_fen=1_001, stock=STOCK)]
        self.orders = []  # ids, as placed
        self.seen = {}  # order id -> its status at the last check
        self.lost = set()  # orders WeChat was paid for whose notify went nowhere
        self.unheard = set()  # orders whose notify_url at WeChat goes nowhere (for good)
        self.held = set()  # refund ids WeChat keeps processing until told
        self.steps = []

    # Talking to the app and to WeChat -------------------------------------------------------

    def _api(self, method, path, headers, body=None, **more):
        answer = requests.request(method, f"{self.app_url}{path}", timeout=20, data=json.dumps(
            body or {}), headers={**headers, "Content-Type": "application/json", **more})
        assert answer.status_code < 500, f"{method} {path}: {answer.text}"
        return answer.status_code, answer.json()

    def _sandbox(self, method, path, **more):
        return requests.request(method, f"{self.sandbox_url}/__sandbox__{path}", timeout=10,
                                **more)

    def _wechat_order(self, order_id):
        answer = self._sandbox("GET", f"/pay/orders/{order_id}")
        return answer.json() if answer.status_code == 200 else None

    def _wechat_refund(self, refund_id):
        answer = self._sandbox("GET", f"/pay/refunds/{refund_id}")
        return answer.json() if answer.status_code == 200 else None

    def _delivered(self, **which):
        return sum(attempt["delivered"] for attempt in self._sandbox(
            "GET", "/pay/notifies", params=which).json())

    def _settled_in_wechat(self, refund_id):
        """Waits until WeChat has settled the refund (unless it holds it or never took it)
        and the app has answered every notify of it."""
        def done():
            refund = self._wechat_refund(refund_id)
            if refund is None or refund["held"]:
                return True
            return refund["status"] != "PROCESSING" and \
                self._delivered(out_refund_no=refund_id) >= refund["deliveries"]

        _wait_for(done, f"refund {refund_id}")

    @staticmethod
    def _order(order_id):
        from chalicelib.orders.models import Order

        return Order.get(order_id, consistent_read=True)

    @staticmethod
    def _refunds(order_id):
        from chalicelib.orders.models import Refund

        return list(Refund.query(order_id, consistent_read=True))

    def _pick(self, order_ids):
        order_ids = sorted(order_ids)
        return self.rng.choice(order_ids) if order_ids else None

    def _with_status(self, *statuses, fulfilment=None):
        return [order_id for order_id, status in self.seen.items() if status in statuses
                and (fulfilment is None or self._order(order_id).fulfilment == fulfilment)]

    # The steps -------------------------------------------------------------------------------

    def place(self):
        if len(self._with_status(PENDING)) >= 3:
            return None  # within the pending orders a member may hold
        fulfilment = self.rng.choice(["pickup", "pickup", "delivery"])
        items = [{"sku_id": sku, "quantity": self.rng.randint(1, 3)}
                 for sku in self.rng.sample(self.skus, self.rng.randint(1, 2))]
        body = {"store_id": STORE_A, "items": items, "fulfilment": fulfilment,
                "points": self.rng.choice([0, 0, 30, 10_000]),
                **({"address": ADDRESS} if fulfilment == "delivery" else {})}
        status, answer = self._api("POST", "/orders", self.shopper, body,
                                   **{"Idempotency-Key": uuid.uuid4().hex})
        assert status in (201, 409), answer
        if status == 409:
            assert answer["error"]["code"] in ("insufficient_stock", "pending_units_limit"), answer
            return "refused"
        self.orders.append(answer["order_id"])
        return fulfilment

    def pay(self, notify_lost=False):
        order_id = self._pick(set(self._with_status(PENDING)) - self.lost)
        if order_id is None:
            return None
        import os

        url = os.environ["PUBLIC_API_URL"]
        if notify_lost:  # the notify_url WeChat keeps for the order goes nowhere
            os.environ["PUBLIC_API_URL"] = "http://127.0.0.1:9"
        try:
            status, answer = self._api("POST", f"/orders/{order_id}/pay", self.shopper)
        finally:
            os.environ["PUBLIC_API_URL"] = url
        assert status == 200, answer
        assert self._sandbox("POST", f"/pay/orders/{order_id}/pay").status_code == 200
        if notify_lost:
            self.lost.add(order_id)
            self.unheard.add(order_id)
            return "notify lost"
        _wait_for(lambda: self._delivered(out_trade_no=order_id, kind="payment"),
                  f"the payment notify of {order_id}")
        return "paid"

    def late_notify(self):
        """The lost notify arrives after all (as WeChat's retries of a notify can)."""
        from tests.api.test_payments import _notify_xml, _send_notify

        order_id = self._pick(self.lost)
        if order_id is None:
            return None
        wechat = self._wechat_order(order_id)
        answer = _send_notify(self.app_url, _notify_xml(
            order_id, wechat["total_fee"], transaction_id=wechat["transaction_id"]))
        assert "SUCCESS" in answer, answer
        self.lost.discard(order_id)
        return "notify arrived"

    def cancel(self):
        order_id = self._pick(self._with_status(PENDING))
        if order_id is None:
            return None
        status, answer = self._api("POST", f"/orders/{order_id}/cancel", self.shopper)
        assert status == 200, answer
        return self._closed_unless_paid(order_id, answer["status"])

    def expire(self):
        from chalicelib.orders import closing as lifecycle
        from devtools import streams

        order_id = self._pick(self._with_status(PENDING))
        if order_id is None:
            return None
        closed = lifecycle.close_unpaid(self._order(order_id), "expired")
        streams.drain()  # a payment it found: the orders stream delivers it, as after a job
        return self._closed_unless_paid(order_id, closed.status)

    def _closed_unless_paid(self, order_id, status):
        if order_id in self.lost:  # WeChat was asked first: the order is paid
            assert status == PAID
            self.lost.discard(order_id)
            return "found paid"
        assert status == CLOSED
        return "closed"

    def _refunded(self, status, answer, allowed):
        if status != 201:
            assert status == 409 and answer["error"]["code"] in allowed, answer
            return f"refused: {answer['error']['code']}"
        refund_id = answer["refund_id"]
        if refund_id not in self.held:
            self._settled_in_wechat(refund_id)
        return "held" if refund_id in self.held else "asked"

    def _maybe_hold(self, order_id):
        if self.rng.random() < 0.4:
            refund_id = f"{order_id}-r{self._order(order_id).refund_count + 1:02d}"
            assert self._sandbox("POST", f"/pay/refunds/{refund_id}/hold").status_code == 200
            self.held.add(refund_id)

    def shopper_refund(self):
        order_id = self._pick(self._with_status(PAID, SHIPPED, COMPLETED))
        if order_id is None:
            return None
        wechat_minute_passes(self.sandbox_url)  # since the order's last refund, if any
        self._maybe_hold(order_id)
        status, answer = self._api("POST", f"/orders/{order_id}/refund", self.shopper,
                                   {"reason": "不想要了"})
        return self._refunded(status, answer, ("refund_not_allowed", "nothing_to_refund",
                                                "refund_in_progress"))

    def staff_refund(self):
        refused_anyway = (REFUNDED,) if self.rng.random() < 0.1 else ()
        order_id = self._pick(self._with_status(PAID, SHIPPED, COMPLETED, *refused_anyway))
        if order_id is None:
            return None
        order = self._order(order_id)
        body = {"reason": "破损"}
        if self.rng.random() < 0.6:
            line = self.rng.choice(order.breakdown["lines"])
            left = line["quantity"] - (order.refunded_quantities or {}).get(line["sku_id"], 0)
            body["lines"] = [{"sku_id": line["sku_id"],
                              "quantity": self.rng.randint(1, max(left, 1))}]
        wechat_minute_passes(self.sandbox_url)  # since the order's last refund, if any
        self._maybe_hold(order_id)
        status, answer = self._api("POST", f"/stores/{STORE_A}/orders/{order_id}/refunds",
                                   self.manager, body)
        return self._refunded(status, answer, ("refund_not_allowed", "nothing_to_refund",
                                                "refund_in_progress"))

    def settle(self):
        waiting = sorted(refund_id for refund_id in self.held
                         if (self._wechat_refund(refund_id) or {}).get("status") == "PROCESSING")
        if not waiting:
            return None
        refund_id = self.rng.choice(waiting)
        result = self.rng.choices([SUCCESS, CHANGE, "REFUNDCLOSE"], [6, 2, 2])[0]
        assert self._sandbox("POST", f"/pay/refunds/{refund_id}/settle",
                             json={"result": result}).status_code == 200
        self.held.discard(refund_id)
        self._settled_in_wechat(refund_id)
        return result

    def resolve(self):
        stuck = sorted((order_id, refund.refund_id) for order_id in self.orders
                       for refund in self._refunds(order_id) if refund.status == CHANGE)
        if not stuck:
            return None
        order_id, refund_id = self.rng.choice(stuck)
        outcome = self.rng.choice(["settled", "released"])
        status, answer = self._api(
            "POST", f"/stores/{STORE_A}/orders/{order_id}/refunds/{refund_id}/resolution",
            self.manager, {"outcome": outcome})
        assert status == 200, answer
        return outcome

    def redeem(self):
        order_id = self._pick(self._with_status(PAID, fulfilment="pickup"))
        if order_id is None:
            return None
        order = self._order(order_id)
        status, answer = self._api("POST", f"/stores/{STORE_A}/pickups", self.clerk,
                                   {"code": order.pickup_code})
        return self._handed_over(order, status, answer)

    def ship(self):
        order_id = self._pick(self._with_status(PAID, fulfilment="delivery"))
        if order_id is None:
            return None
        status, answer = self._api("POST", f"/stores/{STORE_A}/orders/{order_id}/ship",
                                   self.clerk, {"carrier": "顺丰", "tracking_no": "SF1"})
        return self._handed_over(self._order(order_id), status, answer)

    @staticmethod
    def _handed_over(order_before, status, answer):
        if order_before.refunds_in_flight:
            assert status == 409 and answer["error"]["code"] == "refund_in_progress", answer
            return "refused: refund in flight"
        assert status == 200, answer
        return "handed over"

    def deliver(self):
        order_id = self._pick(self._with_status(SHIPPED))
        if order_id is None:
            return None
        status, answer = self._api("POST", f"/stores/{STORE_A}/orders/{order_id}/deliver",
                                   self.clerk)
        assert status == 200, answer
        return "delivered"

    def goods_back(self):
        awaited = sorted((order_id, refund.refund_id) for order_id in self.orders
                         for refund in self._refunds(order_id)
                         if refund.goods_return == "awaited")
        if not awaited:
            return None
        order_id, refund_id = self.rng.choice(awaited)
        status, answer = self._api(
            "POST", f"/stores/{STORE_A}/orders/{order_id}/refunds/{refund_id}/returned",
            self.clerk)
        assert status in (200, 409), answer
        return "back" if status == 200 else answer["error"]["code"]

    def renotify_payment(self):
        order_id = self._pick(o for o in self.orders if o not in self.unheard and (
            self._wechat_order(o) or {}).get("trade_state") in ("SUCCESS", "REFUND"))
        if order_id is None:
            return None
        before = self._delivered(out_trade_no=order_id, kind="payment")
        assert self._sandbox("POST", f"/pay/orders/{order_id}/renotify").status_code == 200
        _wait_for(lambda: self._delivered(out_trade_no=order_id, kind="payment") > before,
                  f"the payment notify of {order_id} again")
        return "payment notified again"

    def replay_refund_result(self):
        """A refund's result notify again, whichever refunds settled since."""
        from tests.api.test_refunds import _post_refund_notify, _refund_notify_xml

        settled = []
        for order_id in self.orders:
            wechat = self._wechat_order(order_id) or {"refunds": []}
            settled += [(order_id, refund, wechat["total_fee"]) for refund in wechat["refunds"]
                        if refund["status"] != "PROCESSING"]
        if not settled:
            return None
        order_id, refund, total_fee = self.rng.choice(
            sorted(settled, key=lambda each: each[1]["out_refund_no"]))
        answer = _post_refund_notify(self.app_url, _refund_notify_xml(
            order_id, refund["out_refund_no"], refund["refund_fee"], total_fee,
            status=refund["status"]))
        assert "SUCCESS" in answer, answer
        return f"{refund['status']} notified again"

    STEPS = {"place": 4, "pay": 4, "pay_with_notify_lost": 1, "late_notify": 1, "cancel": 1,
             "expire": 1, "shopper_refund": 2, "staff_refund": 4, "settle": 4, "resolve": 2,
             "redeem": 2, "ship": 2, "deliver": 1, "goods_back": 2, "renotify_payment": 1,
             "replay_refund_result": 1}

    def pay_with_notify_lost(self):
        return self.pay(notify_lost=True)

    def step(self):
        name = self.rng.choices(list(self.STEPS), weights=list(self.STEPS.values()))[0]
        outcome = getattr(self, name)()
        if outcome is not None:
            self.steps.append(f"{name}: {outcome}")
        return outcome

    # The invariants ------------------------------------------------------------------------

    def check(self):
        orders = {order_id: self._order(order_id) for order_id in self.orders}
        refunds = {order_id: self._refunds(order_id) for order_id in self.orders}
        wechat = {order_id: self._wechat_order(order_id) for order_id in self.orders}
        for order_id, order in orders.items():
            self._check_state(order, refunds[order_id])
            self._check_money(order, refunds[order_id], wechat[order_id])
            self._check_handover(order, refunds[order_id])
        self._check_stock(orders, refunds)
        self._check_points(orders, refunds)

    def _check_state(self, order, refunds):
        assert order.status in NEXT_STATES[self.seen.get(order.order_id)], \
            f"{self.seen.get(order.order_id)} → {order.status}"
        self.seen[order.order_id] = order.status
        if order.status not in (PENDING, CLOSED):
            assert order.paid_at is not None
        if order.status == PAID and order.fulfilment == "pickup":
            from chalicelib.orders.models import PickupCode

            assert PickupCode.get(f"{STORE_A}#{order.pickup_code}").order_id == order.order_id
        refunded = {}
        for refund in refunds:
            if refund.status == SUCCESS:
                for line in refund.lines:
                    refunded[line["sku_id"]] = refunded.get(line["sku_id"], 0) + line["quantity"]
        claimed = order.refunded_quantities or {}
        for line in order.breakdown["lines"]:
            assert refunded.get(line["sku_id"], 0) <= claimed.get(line["sku_id"], 0) \
                <= line["quantity"]
        everything = all(refunded.get(line["sku_id"], 0) == line["quantity"]
                         for line in order.breakdown["lines"])
        assert everything == (order.status == REFUNDED), (order.status, refunded)

    def _check_money(self, order, refunds, wechat):
        paid = order.total_fen if wechat and wechat["trade_state"] in (SUCCESS, "REFUND") else 0
        succeeded = sum(r.refund_fen for r in refunds if r.status == SUCCESS)
        in_flight = sum(r.refund_fen for r in refunds if r.status in IN_FLIGHT)
        assert succeeded + in_flight <= paid, (succeeded, in_flight, paid)
        assert order.refunded_fen == sum(r.refund_fen for r in refunds
                                         if r.kind == "goods" and r.status != FAILED)
        theirs = {refund["out_refund_no"]: refund for refund in (wechat or {}).get("refunds", ())}
        assert set(theirs) <= {refund.refund_id for refund in refunds}
        for refund in refunds:
            said = theirs.get(refund.refund_id, {}).get("status")
            allowed = {SUCCESS: {SUCCESS} | ({CHANGE} if refund.resolved_by else set()),
                       FAILED: {None, "REFUNDCLOSE"} | ({CHANGE} if refund.resolved_by else set()),
                       CHANGE: {CHANGE}, "PROCESSING": {"PROCESSING"}, "REQUESTED": {None}}
            assert said in allowed[refund.status], (refund.refund_id, refund.status, said)
        if order.status == REFUNDED:  # all of it back, but the delivery fee once shipped
            delivery_fee = order.breakdown["delivery_fee_fen"] if order.shipped_at else 0
            assert succeeded == paid - delivery_fee and paid == order.total_fen
        if paid and order.order_id not in self.lost:
            assert order.status != PENDING
            assert order.status != CLOSED or any(r.kind == "late_payment" for r in refunds)
        if not paid:
            assert order.status in (PENDING, CLOSED)

    @staticmethod
    def _check_handover(order, refunds):
        counted = sum(1 for r in refunds if r.status in IN_FLIGHT and r.in_flight_counted)
        assert order.refunds_in_flight == counted
        handed_over = order.shipped_at if order.fulfilment == "delivery" else order.completed_at
        if handed_over is None:
            assert all(refund.goods_return is None for refund in refunds)
            return
        for refund in refunds:
            if refund.goods_return is None:  # asked for while the goods were in the store
                assert refund.requested_at < handed_over
                assert refund.status not in IN_FLIGHT and refund.settled_at <= handed_over
            else:
                assert refund.requested_at >= handed_over

    def _check_stock(self, orders, refunds):
        from chalicelib.catalog.stock import current

        for sku in self.skus:
            held = 0
            for order_id, order in orders.items():
                if order.status == CLOSED:
                    continue
                held += sum(line["quantity"] for line in order.breakdown["lines"]
                            if line["sku_id"] == sku)
                held -= sum(line["quantity"] for refund in refunds[order_id]
                            if refund.status == SUCCESS and refund.goods_return != "awaited"
                            for line in refund.lines if line["sku_id"] == sku)
            assert current(STORE_A, sku) + held == STOCK, (sku, current(STORE_A, sku), held)

    def _check_points(self, orders, refunds):
        from chalicelib.members.models import Member, PointsEntry

        member = Member.get(self.member_id, consistent_read=True)
        balance, debt = member.points_balance, member.points_debt or 0
        assert balance >= 0 and debt >= 0 and (balance == 0 or debt == 0)
        points = growth = 0
        for order_id, order in orders.items():
            if order.status == CLOSED:
                continue
            points -= order.points_used
            if order.paid_at is None:
                continue
            goods_fen = order.total_fen - order.breakdown["delivery_fee_fen"]
            settled = [r for r in refunds[order_id] if r.kind == "goods" and r.status == SUCCESS]
            refunded_goods = sum(r.refund_fen - r.delivery_fee_fen for r in settled)
            points += sum(r.points for r in settled)
            points += order.points_earned - order.points_earned * refunded_goods // goods_fen
            growth += order.growth_earned - order.growth_earned * refunded_goods // goods_fen
        assert (balance - debt, member.growth) == (points, growth)
        entries = list(PointsEntry.query(self.member_id, consistent_read=True))
        assert sum(entry.delta for entry in entries) == balance - debt


@pytest.mark.parametrize("seed", [3, 1013])
def test_orders_lose_no_stock_money_or_points_over_any_sequence(client, served_app,
                                                                sandbox_url, seed):
    headers, session = sign_in(client, WeChatUser(f"walker-{uuid.uuid4().hex[:10]}"))
    manager, _ = new_staff(client, "store_manager", STORE_A)
    clerk, _ = new_staff(client, "clerk", STORE_A)
    walk = Walk(served_app, sandbox_url, headers, session["member"]["member_id"], manager,
                clerk, random.Random(seed))
    for _ in range(150):
        if walk.step() is None:
            continue
        try:
            walk.check()
        except AssertionError as broken:
            raise AssertionError(f"after {walk.steps}: {broken}") from broken
    done = {step.partition(":")[0] for step in walk.steps}
    assert {"pay", "shopper_refund", "staff_refund", "settle", "redeem"} <= done, walk.steps
