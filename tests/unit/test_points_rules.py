"""The points debt and the cumulative take-back of refunds, as plain rules (no DynamoDB)."""
import random
from datetime import datetime, timezone

import pytest

from chalicelib.errors import DomainError
from chalicelib.members.loyalty import taken_back
from chalicelib.members.points import plan_change
from chalicelib.members.rules import DEFAULT_PROGRAM

NOW = datetime(2026, 11, 30, tzinfo=timezone.utc)


def _member(balance, debt=0):
    from chalicelib.members.models import Member

    return Member("m-rules", points_balance=balance, points_debt=debt, points_seq=3,
                  created_at=NOW)


def _after(member, amount, **options):
    entry = plan_change(member, amount, "refund" if amount < 0 else "order", "x", NOW,
                        DEFAULT_PROGRAM, **options).result
    return entry.balance_after, entry.debt_after, entry.debt_change


def test_a_clawback_takes_what_the_balance_has_and_owes_the_rest():
    assert _after(_member(30), -100, to_debt=True) == (0, 70, 70)
    assert _after(_member(0, debt=70), -5, to_debt=True) == (0, 75, 5)


def test_a_credit_pays_the_debt_first():
    assert _after(_member(0, debt=70), 50) == (0, 20, -50)
    assert _after(_member(0, debt=70), 100) == (30, 0, -70)
    assert _after(_member(10), 5) == (15, 0, 0)


def test_a_spend_beyond_the_balance_is_refused_and_nothing_is_spent_in_debt():
    with pytest.raises(DomainError) as refused:
        plan_change(_member(10), -11, "checkout", "o", NOW, DEFAULT_PROGRAM)
    assert refused.value.code == "insufficient_points"
    with pytest.raises(DomainError):
        plan_change(_member(0, debt=5), -1, "checkout", "o", NOW, DEFAULT_PROGRAM)
    assert _after(_member(10), -10) == (0, 0, 0)


def test_held_points_change_by_exactly_the_delta():
    rng = random.Random(5)
    balance, debt = 0, 0
    for _ in range(500):
        amount = rng.randint(-200, 200) or 1
        before = balance - debt
        try:
            balance, debt, _ = _after(_member(balance, debt), amount,
                                      to_debt=rng.random() < 0.5)
        except DomainError:
            continue
        assert balance - debt == before + amount
        assert balance >= 0 and debt >= 0 and (balance == 0 or debt == 0)


@pytest.mark.parametrize("earned, paid_fen", [(184, 18_450), (7, 1_500), (1_000, 99_999),
                                              (0, 500)])
def test_refunds_take_back_exactly_what_the_order_earned_however_they_split(earned,
                                                                           paid_fen):
    rng = random.Random(earned)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, paid_fen), min(14, paid_fen - 1)))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, paid_fen])]
        before, total = 0, 0
        for part in parts:
            total += taken_back(earned, before, part, paid_fen)
            before += part
            assert total == earned * before // paid_fen  # cumulative, never ahead
        assert total == earned
