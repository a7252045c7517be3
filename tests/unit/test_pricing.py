"""The one pricing engine as a shopper meets it: what each line and the order cost in fen,
which coupon is refused and why, and the order of the steps (member price, coupon, points,
delivery fee) with the 1-fen floor WeChat Pay needs. No DynamoDB: `price` is pure."""
import random
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.core.clock import utc_text
from chalicelib.members.rules import DEFAULT_PROGRAM
from chalicelib.orders.pricing import PricingError, allocate, coupon_refusal, delivery_fee, price

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=timezone.utc)
LEVELS = {level["code"]: level for level in DEFAULT_PROGRAM["levels"]}
GOLD, BLACK = LEVELS["gold"], LEVELS["black"]  # 5 % and 10 % off
TEA = {"sku_id": "tea", "name": "Tea", "quantity": 3, "unit_price_fen": 1_999}
CUP = {"sku_id": "cup", "name": "Cup", "quantity": 1, "unit_price_fen": 4_550}


def _coupon(**terms):
    return {"member_coupon_id": "mc1", "terms": {"coupon_id": "c1",
        "store_id": None, "channels": ["mall", "flash_sale"], "threshold_fen": 0,
        "valid_from": utc_text(NOW - timedelta(days=1)),
        "valid_until": utc_text(NOW + timedelta(days=1)), "kind": "fixed", "amount_fen": 0,
        **terms}}


def _price(lines, *, level=None, channel="mall", fulfilment="pickup", **options):
    return price(lines, level=level, program=DEFAULT_PROGRAM, store_id="s1", channel=channel,
                 fulfilment=fulfilment, now=NOW, **options)


def _line(breakdown, sku_id):
    return next(line for line in breakdown["lines"] if line["sku_id"] == sku_id)


def test_a_member_pays_their_levels_price_on_every_unit_of_a_mall_order():
    priced = _price([TEA, CUP], level=GOLD)

    assert _line(priced, "tea")["member_unit_price_fen"] == 1_900  # 1999 less 99 (5 %)
    assert _line(priced, "cup")["member_unit_price_fen"] == 4_323  # 4550 less 227
    assert (priced["list_fen"], priced["member_discount_fen"], priced["goods_fen"]) == \
        (10_547, 524, 10_023)
    assert priced["member_level"] == "gold"
    assert priced["total_fen"] == 10_023


def test_without_a_level_a_shopper_pays_the_list_price():
    priced = _price([TEA, CUP])

    assert priced["member_level"] is None and priced["member_discount_fen"] == 0
    assert priced["total_fen"] == 3 * 1_999 + 4_550


@pytest.mark.parametrize("channel", ["flash_sale", "group_buy", "live"])
def test_a_promotional_price_is_already_the_deal_no_level_takes_more_off(channel):
    priced = _price([TEA], level=BLACK, channel=channel)

    assert priced["member_level"] is None
    assert priced["total_fen"] == 3 * 1_999


@pytest.mark.parametrize("fulfilment, goods, fee", [
    ("delivery", 9_899, 800), ("delivery", 9_900, 0), ("delivery", 1, 800),
    ("pickup", 1, 0), ("cloud_shelf", 9_899, 800)])
def test_delivery_costs_8_yuan_below_99_yuan_of_goods_and_pickup_is_free(fulfilment, goods,
                                                                         fee):
    assert delivery_fee(fulfilment, goods) == fee
    priced = _price([{**TEA, "quantity": 1, "unit_price_fen": goods}], fulfilment=fulfilment)
    assert (priced["delivery_fee_fen"], priced["total_fen"]) == (fee, goods + fee)


def test_free_delivery_counts_the_goods_at_the_members_price():
    # 100 yuan of list price is 95 yuan at gold: below 99, so delivery is charged.
    priced = _price([{**CUP, "unit_price_fen": 10_000}], level=GOLD, fulfilment="delivery")

    assert (priced["goods_fen"], priced["delivery_fee_fen"], priced["total_fen"]) == \
        (9_500, 800, 10_300)


def test_free_delivery_is_decided_before_the_coupon_so_a_coupon_never_adds_a_fee():
    priced = _price([{**CUP, "unit_price_fen": 10_000}], fulfilment="delivery",
                    coupon=_coupon(amount_fen=2_000))

    assert (priced["coupon_discount_fen"], priced["delivery_fee_fen"], priced["total_fen"]) \
        == (2_000, 0, 8_000)


def test_a_fixed_coupon_comes_off_the_goods_and_is_shared_over_the_lines():
    priced = _price([TEA, CUP], level=GOLD, coupon=_coupon(amount_fen=1_000))

    assert priced["coupon_discount_fen"] == 1_000 and priced["member_coupon_id"] == "mc1"
    assert priced["total_fen"] == 9_023
    # 1000 over 5700 and 4323 fen of goods: 568.69 and 431.31, the odd fen to the tea.
    assert [line["coupon_discount_fen"] for line in priced["lines"]] == [569, 431]
    assert [line["payable_fen"] for line in priced["lines"]] == [5_131, 3_892]


@pytest.mark.parametrize("cap, discount", [(None, 1_503), (1_000, 1_000), (2_000, 1_503)])
def test_a_percent_coupon_takes_its_percent_rounded_down_up_to_its_cap(cap, discount):
    priced = _price([TEA, CUP], level=GOLD,
                    coupon=_coupon(kind="percent", percent_off=15, cap_fen=cap))

    assert priced["coupon_discount_fen"] == discount  # 15 % of 10023 is 1503.45
    assert priced["total_fen"] == 10_023 - discount


def test_a_coupon_worth_more_than_the_goods_still_leaves_one_fen_to_pay():
    priced = _price([{**TEA, "quantity": 1, "unit_price_fen": 3_000}],
                    coupon=_coupon(amount_fen=5_000), points_balance=10_000,
                    wanted_points=10_000)

    assert (priced["coupon_discount_fen"], priced["points_fen"], priced["total_fen"]) == \
        (2_999, 0, 1)


def test_a_whole_percent_off_leaves_one_fen_and_delivery_is_paid_on_top():
    priced = _price([{**TEA, "quantity": 1, "unit_price_fen": 3_000}], fulfilment="delivery",
                    coupon=_coupon(kind="percent", percent_off=100))

    assert (priced["coupon_discount_fen"], priced["total_fen"]) == (2_999, 1 + 800)


@pytest.mark.parametrize("terms, refusal", [
    ({"store_id": "s2"}, "This coupon is for another store."),
    ({"channels": ["mall"]}, "This coupon is not for this kind of order."),
    ({"valid_from": utc_text(NOW + timedelta(seconds=1))}, "This coupon is not valid now."),
    ({"valid_until": utc_text(NOW)}, "This coupon is not valid now."),
    ({"threshold_fen": 5_998}, "This coupon needs goods of at least 5998 fen."),
])
def test_a_coupon_is_refused_with_the_reason_the_shopper_sees(terms, refusal):
    coupon = _coupon(amount_fen=500, **terms)

    assert coupon_refusal(coupon["terms"], "s1", "flash_sale", 5_997, NOW) == refusal
    with pytest.raises(PricingError) as refused:
        _price([TEA], channel="flash_sale", coupon=coupon)
    assert refused.value.code == "coupon_unusable" and str(refused.value) == refusal


def test_a_coupon_of_the_store_valid_from_now_and_at_its_threshold_is_accepted():
    coupon = _coupon(amount_fen=500, store_id="s1", valid_from=utc_text(NOW),
                     threshold_fen=5_997)

    assert coupon_refusal(coupon["terms"], "s1", "mall", 5_997, NOW) is None
    assert _price([TEA], coupon=coupon)["total_fen"] == 5_497


def test_the_threshold_is_met_by_the_goods_at_the_members_price():
    coupon = _coupon(amount_fen=500, threshold_fen=10_000)
    lines = [{**CUP, "unit_price_fen": 10_000}]

    assert _price(lines, coupon=coupon)["total_fen"] == 9_500
    with pytest.raises(PricingError):
        _price(lines, level=GOLD, coupon=coupon)  # 9500 fen of goods at gold


def test_points_pay_100_points_a_yuan_of_what_the_coupon_left():
    priced = _price([TEA, CUP], level=GOLD, coupon=_coupon(amount_fen=1_000),
                    points_balance=2_500, wanted_points=2_000)

    assert (priced["points"], priced["points_fen"], priced["total_fen"]) == \
        (2_000, 2_000, 7_023)
    assert sum(line["points_fen"] for line in priced["lines"]) == 2_000


def test_points_pay_at_most_half_of_what_the_coupon_left():
    priced = _price([{**TEA, "quantity": 1, "unit_price_fen": 1_000}],
                    coupon=_coupon(amount_fen=400), points_balance=100_000,
                    wanted_points=100_000)

    # 600 fen after the coupon, and at least 1 fen stays to pay: half of 599 is 299.
    assert (priced["points"], priced["points_fen"], priced["total_fen"]) == (299, 299, 301)


def test_points_pay_no_more_than_the_shopper_has_or_offers():
    lines = [{**TEA, "quantity": 1, "unit_price_fen": 10_000}]

    assert _price(lines, points_balance=300, wanted_points=1_000)["points_fen"] == 300
    assert _price(lines, points_balance=1_000, wanted_points=250)["points_fen"] == 250
    untouched = _price(lines, points_balance=1_000)
    assert (untouched["points"], untouched["points_fen"], untouched["total_fen"]) == \
        (0, 0, 10_000)


def test_a_points_rate_that_does_not_divide_a_yuan_never_spends_a_point_too_many():
    program = {**DEFAULT_PROGRAM, "points_per_yuan_deduction": 150}
    priced = price([{**TEA, "quantity": 1, "unit_price_fen": 10_000}], level=None,
                   program=program, store_id="s1", channel="mall", fulfilment="pickup",
                   now=NOW, points_balance=100, wanted_points=100)

    assert (priced["points"], priced["points_fen"]) == (99, 66)  # 99 points are 66 fen


def test_lines_add_up_to_the_order_whatever_the_amounts():
    rng = random.Random(15)
    for _ in range(300):
        lines = [{"sku_id": f"s{n}", "name": "x", "quantity": rng.randint(1, 9),
                  "unit_price_fen": rng.randint(1, 30_000)} for n in range(rng.randint(1, 6))]
        coupon = _coupon(kind="percent", percent_off=rng.randint(1, 100)) \
            if rng.random() < 0.5 else _coupon(amount_fen=rng.randint(0, 50_000))
        priced = _price(lines, level=rng.choice([None, GOLD, BLACK]), coupon=coupon,
                        fulfilment=rng.choice(["pickup", "delivery"]),
                        points_balance=rng.randint(0, 50_000),
                        wanted_points=rng.randint(0, 50_000))

        payable = [line["payable_fen"] for line in priced["lines"]]
        assert sum(line["coupon_discount_fen"] for line in priced["lines"]) == \
            priced["coupon_discount_fen"]
        assert sum(line["points_fen"] for line in priced["lines"]) == priced["points_fen"]
        assert sum(payable) + priced["delivery_fee_fen"] == priced["total_fen"]
        assert min(payable) >= 0 and sum(payable) >= 1
        assert priced["goods_fen"] == priced["list_fen"] - priced["member_discount_fen"]


@pytest.mark.parametrize("amount, weights, shares", [
    (10, [1, 1, 1], [4, 3, 3]),  # ties: the earlier line gets the odd fen
    (7, [1, 2], [2, 5]),
    (2, [1, 1, 1], [1, 1, 0]),
    (100, [0, 3], [0, 100]),
    (0, [5, 7], [0, 0]),
    (5, [0, 0], [0, 0]),
    (1_000, [5_700, 4_323], [569, 431]),
])
def test_an_amount_is_split_in_proportion_in_whole_fen(amount, weights, shares):
    assert allocate(amount, weights) == shares


def test_a_split_always_adds_up_and_each_share_is_within_a_fen_of_its_proportion():
    rng = random.Random(3)
    for _ in range(500):
        weights = [rng.randint(0, 10_000) for _ in range(rng.randint(1, 8))]
        total = sum(weights) or 1
        amount = rng.randint(0, total)
        shares = allocate(amount, weights)
        assert sum(shares) == (amount if sum(weights) else 0)
        for share, weight in zip(shares, weights):
            assert abs(share - amount * weight / total) < 1
