"""Loyalty rules a member notices (members/rules.py, and orders/pricing.py for level prices
and points payment; no I/O): the level their growth reaches, the growth and points a payment
earns, what points can pay, when points lapse, and the programs a brand may set."""
from datetime import datetime, timezone

import pytest

from chalicelib.members.rules import (DEFAULT_PROGRAM, ProgramError, check_program,
                                      credit_expiry, expired_points_due, growth_for_payment,
                                      level_for, points_for_payment)
from chalicelib.orders.pricing import member_price, points_payment

LEVELS = {level["code"]: level for level in DEFAULT_PROGRAM["levels"]}


@pytest.mark.parametrize("growth, assigned, level", [
    (0, None, "silver"), (999, None, "silver"), (1_000, None, "gold"), (4_999, None, "gold"),
    (5_000, None, "black"), (10**9, None, "black"),
    (0, "black", "black"),  # an assigned level counts when it is higher
    (5_000, "gold", "black"),  # and never lowers what growth reached
    (0, "platinum", "silver"),  # a level the program no longer has counts for nothing
])
def test_a_member_has_the_highest_level_their_growth_or_assignment_reaches(growth, assigned,
                                                                          level):
    assert level_for(growth, DEFAULT_PROGRAM, assigned)["code"] == level


@pytest.mark.parametrize("paid, growth", [(18_450, 184), (99, 0), (100, 1), (0, 0)])
def test_growth_is_one_a_whole_yuan_paid(paid, growth):
    assert growth_for_payment(paid, DEFAULT_PROGRAM) == growth


@pytest.mark.parametrize("paid, level, points", [(18_450, "silver", 184), (18_450, "gold", 276),
                                                 (18_450, "black", 368), (150, "gold", 1),
                                                 (99, "black", 0)])
def test_a_payment_earns_a_point_a_yuan_times_the_levels_multiplier(paid, level, points):
    assert points_for_payment(paid, LEVELS[level], DEFAULT_PROGRAM) == points


@pytest.mark.parametrize("price, level, paid", [(1_999, "silver", 1_999), (1_999, "gold", 1_900),
                                                (1_999, "black", 1_800), (1, "black", 1),
                                                (10_000, "black", 9_000)])
def test_a_level_price_takes_the_levels_percent_off_in_whole_fen(price, level, paid):
    assert member_price(price, LEVELS[level]) == paid


@pytest.mark.parametrize("payable, balance, wanted, points, fen", [
    (10_000, 20_000, None, 5_000, 5_000),  # half the order at most
    (10_000, 1_234, None, 1_234, 1_234),  # no more than the balance
    (10_000, 20_000, 700, 700, 700),  # no more than asked for
    (10_000, 20_000, -5, 0, 0),
    (1, 20_000, None, 0, 0),  # half of a fen is no fen
    (0, 20_000, None, 0, 0),
])
def test_points_pay_whole_fen_up_to_half_the_order(payable, balance, wanted, points, fen):
    assert points_payment(payable, balance, DEFAULT_PROGRAM, wanted) == \
        {"points": points, "fen": fen}


@pytest.mark.parametrize("rate, balance, points, fen", [(150, 100, 99, 66), (150, 1, 0, 0),
                                                        (150, 2, 2, 1), (30, 10, 10, 33),
                                                        (1, 7, 7, 700)])
def test_points_at_any_rate_cover_the_fen_they_pay_within_the_balance(rate, balance, points,
                                                                      fen):
    program = {**DEFAULT_PROGRAM, "points_per_yuan_deduction": rate,
               "max_points_payment_percent": 100}

    paid = points_payment(100_000, balance, program)

    assert paid == {"points": points, "fen": fen}
    assert paid["points"] <= balance and paid["fen"] * rate <= paid["points"] * 100


def test_points_last_the_programs_validity():
    earned = datetime(2026, 2, 28, 10, 0, tzinfo=timezone.utc)

    assert credit_expiry(earned, DEFAULT_PROGRAM) == datetime(2027, 2, 28, 10, 0,
                                                              tzinfo=timezone.utc)


@pytest.mark.parametrize("expired_credits, spent, lapsed_before, due", [
    (500, 0, 0, 500), (500, 200, 0, 300), (500, 200, 300, 0), (500, 800, 0, 0),
    (900, 200, 300, 400)])
def test_what_lapses_is_what_spending_did_not_use_of_the_points_past_expiry(
        expired_credits, spent, lapsed_before, due):
    assert expired_points_due(expired_credits, spent, lapsed_before) == due


def _levels(*thresholds, codes=None):
    codes = codes or [f"l{n}" for n in range(len(thresholds))]
    return {**DEFAULT_PROGRAM, "levels": [
        {**DEFAULT_PROGRAM["levels"][0], "code": code, "min_growth": growth}
        for code, growth in zip(codes, thresholds)]}


@pytest.mark.parametrize("program, refusal", [
    (_levels(10, 100), "The first level must start at growth 0."),
    (_levels(0, 100, 100), "Level thresholds must rise strictly"),
    (_levels(0, 500, 100), "Level thresholds must rise strictly"),
    (_levels(0, 100, codes=["a", "a"]), "Level codes must be unique."),
])
def test_a_program_whose_levels_do_not_rise_from_zero_is_refused(program, refusal):
    with pytest.raises(ProgramError, match=refusal):
        check_program(program)


def test_the_default_program_is_a_valid_one():
    assert check_program(DEFAULT_PROGRAM) is DEFAULT_PROGRAM
