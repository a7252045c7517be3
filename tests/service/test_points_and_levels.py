"""The points ledger and levels, against DynamoDB Local."""
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.core.clock import FixedClock
from chalicelib.core.ids import new_id
from chalicelib.errors import DomainError


@pytest.fixture
def member(local_services):
    from chalicelib.members.models import Member

    created = Member(new_id("m"), created_at=datetime.now(timezone.utc))
    created.save()
    return created.member_id


def ledger(member_id):
    from chalicelib.members.models import PointsEntry

    return list(PointsEntry.query(member_id))


def balance(member_id):
    from chalicelib.members.models import Member

    return Member.get(member_id, consistent_read=True).points_balance


def test_100_concurrent_spends_never_take_the_balance_below_zero(member):
    from chalicelib.members.points import change_points

    change_points(member, 1000, "admin", "opening")

    def spend(n):
        try:
            return change_points(member, -15, "order", f"order-{n}")["applied"]
        except DomainError as refused:
            assert refused.code == "insufficient_points"
            return False

    with ThreadPoolExecutor(max_workers=25) as pool:
        outcomes = list(pool.map(spend, range(100)))

    entries = ledger(member)
    assert outcomes.count(True) == 66  # 66 × 15 = 990 of the 1000
    assert balance(member) == 10
    assert sum(e.delta for e in entries) == balance(member)
    assert [e.seq for e in entries] == list(range(1, 68))
    running = 0
    for entry in entries:
        running += entry.delta
        assert entry.balance_after == running >= 0


def test_the_same_source_never_credits_twice_even_racing(member):
    from chalicelib.members.points import change_points

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: change_points(member, 50, "order", "o-1"), range(8)))

    assert sum(r["applied"] for r in results) == 1
    assert balance(member) == 50
    assert len(ledger(member)) == 1


def test_points_expire_oldest_first_once_a_day(member):
    from chalicelib.members.points import change_points, expire_due

    program = {**__import__("chalicelib.members.rules", fromlist=["x"]).DEFAULT_PROGRAM,
               "points_validity_days": 365}
    clock = FixedClock(datetime(2025, 1, 1, tzinfo=timezone.utc))
    change_points(member, 100, "order", "o-jan", clock=clock, program=program)
    clock.advance(timedelta(days=10))
    change_points(member, -30, "order", "o-spend", clock=clock, program=program)
    clock.advance(timedelta(days=90))
    change_points(member, 50, "order", "o-apr", clock=clock, program=program)

    clock.advance(timedelta(days=266))  # day 366: January's points have lapsed
    assert expire_due(member, clock) == 70  # the 30 spent came out of them first
    assert expire_due(member, clock) == 0
    assert balance(member) == 50
    clock.advance(timedelta(days=100))  # April's 50 lapse too
    assert expire_due(member, clock) == 50
    assert balance(member) == 0
    assert [e.source for e in ledger(member)] == ["order", "order", "order", "expiry", "expiry"]


def test_the_expiry_job_finds_members_by_expiry_day(member):
    from chalicelib.db import cursors
    from chalicelib.members import jobs
    from chalicelib.members.points import change_points

    earned = FixedClock(datetime(2025, 3, 1, 2, tzinfo=timezone.utc))
    change_points(member, 40, "order", "o-1", clock=earned)
    job_day = FixedClock(earned.now() + timedelta(days=365, hours=20))
    # The job last covered the day before (whatever other tests ran it for).
    cursors.cover_day("expire-points", job_day.now().date() - timedelta(days=1), job_day.now())

    assert jobs.expire_points(job_day) >= 40
    assert balance(member) == 0
    assert jobs.expire_points(job_day) == 0  # the same day again changes nothing


def test_growth_sets_the_level_and_a_refund_takes_it_back(member):
    """What a payment earns is written in the payment's own transaction (the order's
    condition counts it once: tests/api/test_payments.py, tests/service/test_streams.py)."""
    from chalicelib.db.base import transaction
    from chalicelib.members import loyalty
    from chalicelib.members.models import Member

    now = datetime.now(timezone.utc)
    with transaction() as writes:
        earned = loyalty.earn_in(writes, member, "o-big", 120_000, now)  # 1,200 yuan

    paid = Member.get(member, consistent_read=True)
    assert (paid.growth, paid.level) == (1200, "gold")
    entry = earned.pop("entry")
    assert earned == {"points": 1200, "growth": 1200, "order_number": 1,
                      "first_paid_at": now} and paid.points_balance == 1200
    assert paid.first_paid_at == now  # the start of the member's cohort
    assert (entry.seq, entry.delta, entry.balance_after) == (paid.points_seq, 1200, 1200)
    assert paid.orders_count == 1 and paid.paid_total_fen == 120_000

    loyalty.on_order_refunded(member, "r-1", 0, 60_000, 120_000, earned)

    refunded = Member.get(member, consistent_read=True)
    assert (refunded.growth, refunded.level, refunded.points_balance) == (600, "silver", 600)


def test_an_assigned_level_holds_whatever_growth_says(member):
    from chalicelib.members import loyalty, rules
    from chalicelib.members.models import Member

    Member(member).update(actions=[Member.assigned_level.set("black")])
    loyalty.change_growth(member, 10, "order", "o-small")

    assert Member.get(member, consistent_read=True).level == "black"
    assert rules.level_for(10, rules.DEFAULT_PROGRAM, "black")["discount_percent"] == 10


@pytest.mark.parametrize("payable, balance_points, wanted, expected", [
    (10_000, 100_000, None, {"points": 5_000, "fen": 5_000}),  # capped at half the order
    (10_000, 1_234, None, {"points": 1_234, "fen": 1_234}),
    (10_000, 100_000, 300, {"points": 300, "fen": 300}),
    (999, 100_000, None, {"points": 499, "fen": 499}),
    (10_000, 0, None, {"points": 0, "fen": 0}),
])
def test_points_pay_part_of_an_order_at_the_rate_and_cap(payable, balance_points, wanted,
                                                         expected):
    from chalicelib.members.rules import DEFAULT_PROGRAM
    from chalicelib.orders.pricing import points_payment

    assert points_payment(payable, balance_points, DEFAULT_PROGRAM, wanted) == expected


def test_points_at_an_uneven_rate_never_overspend():
    from chalicelib.members.rules import DEFAULT_PROGRAM
    from chalicelib.orders.pricing import points_payment

    program = {**DEFAULT_PROGRAM, "points_per_yuan_deduction": 150}
    for balance_points in range(0, 400, 7):
        paid = points_payment(10_000, balance_points, program)
        assert paid["points"] <= balance_points
        assert paid["fen"] * 150 <= paid["points"] * 100 < (paid["fen"] + 1) * 150
