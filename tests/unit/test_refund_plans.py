"""What a refund gives back, planned on the order's priced lines (refunds.plan, no DynamoDB):
each unit what it cost after the coupon and the points, the delivery fee with the last units
of an order not yet shipped, the points the refunded goods were paid with, and never more
than was paid: refunds in any split add up to the whole exactly."""
import random
from types import SimpleNamespace

import pytest

from chalicelib.errors import DomainError
from chalicelib.members.rules import DEFAULT_PROGRAM
from chalicelib.orders.pricing import price
from chalicelib.orders.refunds import _upto, plan
from tests.unit.test_pricing import CUP, GOLD, NOW, TEA, _coupon, _line


def _order(lines=(TEA, CUP), refunded=None, shipped=False, fulfilment="delivery", **options):
    options = {"coupon": _coupon(amount_fen=1_000), "points_balance": 2_500,
               "wanted_points": 2_000, **options}
    breakdown = price(list(lines), level=GOLD, program=DEFAULT_PROGRAM, store_id="s1",
                      channel="mall", fulfilment=fulfilment, now=NOW, **options)
    return SimpleNamespace(breakdown=breakdown, refunded_quantities=refunded,
                           shipped_at=NOW if shipped else None,
                           total_fen=breakdown["total_fen"])


def _settle(order, planned):
    """The order as the next refund reads it, once this one is claimed."""
    order.refunded_quantities = planned["after"]


def _all_refunded(order):
    done = order.refunded_quantities or {}
    return all(done.get(line["sku_id"], 0) == line["quantity"]
               for line in order.breakdown["lines"])


def _refusal(order, wanted):
    with pytest.raises(DomainError) as refused:
        plan(order, wanted)
    return refused.value.code, str(refused.value)


def test_a_whole_refund_gives_back_everything_paid_with_the_delivery_fee():
    order = _order([{**TEA, "quantity": 1, "unit_price_fen": 3_000}])  # 2850 at gold: fee
    breakdown = order.breakdown
    assert breakdown["delivery_fee_fen"] == 800

    planned = plan(order)

    assert planned["refund_fen"] == breakdown["total_fen"] == order.total_fen
    assert planned["delivery_fee_fen"] == 800
    assert planned["points"] == breakdown["points"] and planned["completes"]


def test_each_line_gives_back_what_it_cost_after_its_coupon_and_points_shares():
    order = _order(wanted_points=0)  # tea's line: 5700 of goods, 569 of the coupon
    assert _line(order.breakdown, "tea")["payable_fen"] == 5_131

    planned = plan(order, {"tea": 3})

    assert planned["lines"] == [{"sku_id": "tea", "quantity": 3, "refund_fen": 5_131}]
    assert planned["refund_fen"] == 5_131 and not planned["completes"]


def test_units_refunded_one_by_one_carry_their_rounding_to_the_last():
    order = _order(wanted_points=0)
    amounts = []
    for _ in range(3):
        planned = plan(order, {"tea": 1})
        amounts.append(planned["refund_fen"])
        _settle(order, planned)

    assert amounts == [1_710, 1_710, 1_711]  # 5131 fen over 3 units


def test_a_refund_counts_the_units_refunded_before():
    order = _order(refunded={"tea": 2})

    planned = plan(order)  # everything not yet refunded

    assert [(line["sku_id"], line["quantity"]) for line in planned["lines"]] == \
        [("tea", 1), ("cup", 1)]
    assert planned["after"] == {"tea": 3, "cup": 1} and planned["completes"]
    assert _refusal(order, {"tea": 2}) == \
        ("nothing_to_refund", "1 unit(s) of Tea can be refunded.")


def test_the_delivery_fee_comes_back_only_with_the_last_units_of_an_unshipped_order():
    lines = [{**TEA, "quantity": 2, "unit_price_fen": 2_000}]  # 3800 of goods at gold
    order = _order(lines)
    assert order.breakdown["delivery_fee_fen"] == 800

    first = plan(order, {"tea": 1})
    _settle(order, first)
    last = plan(order, {"tea": 1})

    assert (first["delivery_fee_fen"], last["delivery_fee_fen"]) == (0, 800)
    assert first["refund_fen"] + last["refund_fen"] == order.total_fen
    shipped = _order(lines, shipped=True)
    assert plan(shipped)["delivery_fee_fen"] == 0
    assert plan(shipped)["refund_fen"] == shipped.total_fen - 800


def test_a_pickup_order_has_no_fee_to_give_back():
    order = _order(fulfilment="pickup")

    assert plan(order)["delivery_fee_fen"] == 0
    assert plan(order)["refund_fen"] == order.total_fen


def test_points_come_back_in_proportion_to_the_refunded_goods_and_in_full_at_the_end():
    order = _order()
    points = order.breakdown["points"]
    assert points == 2_000

    tea_points = _line(order.breakdown, "tea")["points_fen"]
    one = plan(order, {"tea": 1})
    _settle(order, one)
    rest = plan(order)

    assert one["points"] == tea_points // 3  # 100 points a yuan: a point a fen
    assert one["points"] + rest["points"] == points


def test_an_order_paid_without_points_gives_none_back():
    assert plan(_order(wanted_points=0))["points"] == 0


@pytest.mark.parametrize("wanted, refusal", [
    ({"tea": 4}, ("nothing_to_refund", "3 unit(s) of Tea can be refunded.")),
    ({"tea": 0}, ("nothing_to_refund", "3 unit(s) of Tea can be refunded.")),
    ({"tea": -1}, ("nothing_to_refund", "3 unit(s) of Tea can be refunded.")),
    ({"pot": 1}, ("validation_error", "This order has no SKU pot.")),
    ({}, ("nothing_to_refund", "Everything in this order was refunded.")),
])
def test_a_refund_of_units_the_order_cannot_give_back_is_refused(wanted, refusal):
    assert _refusal(_order(), wanted) == refusal


def test_a_refunded_order_has_nothing_left_to_refund():
    order = _order(refunded={"tea": 3, "cup": 1})

    assert _refusal(order, None) == \
        ("nothing_to_refund", "Everything in this order was refunded.")
    assert _refusal(order, {"cup": 1})[0] == "nothing_to_refund"


def test_refunds_in_any_split_add_up_to_what_was_paid_and_never_run_ahead():
    rng = random.Random(15)
    for _ in range(100):
        lines = [{"sku_id": f"s{n}", "name": f"SKU {n}", "quantity": rng.randint(1, 7),
                  "unit_price_fen": rng.randint(1, 20_000)} for n in range(rng.randint(1, 4))]
        order = _order(lines, coupon=_coupon(amount_fen=rng.randint(0, 30_000)),
                       points_balance=rng.randint(0, 40_000),
                       wanted_points=rng.randint(0, 40_000),
                       fulfilment=rng.choice(["pickup", "delivery"]))
        refunded_fen = refunded_points = 0
        while not _all_refunded(order):
            left = {line["sku_id"]: line["quantity"]
                    - (order.refunded_quantities or {}).get(line["sku_id"], 0)
                    for line in order.breakdown["lines"]}
            wanted = {sku: rng.randint(1, units) for sku, units in left.items()
                      if units and rng.random() < 0.6} or None
            planned = plan(order, wanted)
            refunded_fen += planned["refund_fen"]
            refunded_points += planned["points"]
            _settle(order, planned)
            assert refunded_fen <= order.total_fen
            assert refunded_points <= order.breakdown["points"]
        assert refunded_fen == order.total_fen
        assert refunded_points == order.breakdown["points"]


@pytest.mark.parametrize("amount, quantity", [(5_131, 3), (1, 7), (0, 2), (99_999, 13)])
def test_the_first_units_carry_their_part_rounded_down_and_all_units_the_whole(amount,
                                                                             quantity):
    parts = [_upto(amount, units, quantity) - _upto(amount, units - 1, quantity)
             for units in range(1, quantity + 1)]

    assert sum(parts) == amount == _upto(amount, quantity, quantity)
    assert max(parts) - min(parts) <= 1
