"""What guides earn, in fen: each tier's share of a paid order, rounded down, the month and
the day it settles in (Asia/Shanghai), and refunds taking the commission back in
proportion, exactly, however they split. No DynamoDB."""
import random
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from chalicelib.guides.commissions import (commission, earners, month_of, refund_share,
                                           settle_day, tier_rate_bp)


def _sale(paid_fen, rate_bp, refunded_fen=0, reversed_fen=0):
    return SimpleNamespace(paid_fen=paid_fen, commission_bp=rate_bp,
                           commission_fen=commission(paid_fen, rate_bp),
                           refunded_fen=refunded_fen, commission_reversed_fen=reversed_fen)


def _refund(sale, refund_fen):
    """The refund's share, and the sale as the next refund reads it."""
    refunded, taken_back = refund_share(sale, refund_fen)
    sale.refunded_fen += refunded
    sale.commission_reversed_fen += taken_back
    return refunded, taken_back


@pytest.mark.parametrize("paid, rate, earned", [(10_000, 300, 300), (9_999, 300, 299),
                                                (33, 300, 0), (18_450, 100, 184),
                                                (1, 10_000, 1), (5_000, 0, 0)])
def test_a_commission_is_its_rate_of_the_payment_rounded_down_to_the_fen(paid, rate, earned):
    assert commission(paid, rate) == earned


def test_the_orders_guide_earns_3_percent_and_their_recruiter_1_percent(monkeypatch):
    monkeypatch.delenv("GUIDE_COMMISSION_BP", raising=False)
    monkeypatch.delenv("GUIDE_SECOND_TIER_BP", raising=False)
    guide = SimpleNamespace(member_id="g1", role="guide")
    recruiter = SimpleNamespace(member_id="g0", role="guide")

    shares = {earner["guide_id"]: commission(18_450, tier_rate_bp(earner["tier"]))
              for earner in earners("m1", guide, recruiter)}

    assert shares == {"g1": 553, "g0": 184}


def test_the_brand_sets_each_tiers_rate(monkeypatch):
    monkeypatch.setenv("GUIDE_COMMISSION_BP", "550")
    monkeypatch.setenv("GUIDE_SECOND_TIER_BP", "25")

    assert (tier_rate_bp(1), tier_rate_bp(2)) == (550, 25)


def test_refunds_take_back_the_commission_on_what_no_longer_stays_paid():
    sale = _sale(10_000, 300)

    assert _refund(sale, 3_333) == (3_333, 100)  # 200 still due on 6667
    assert _refund(sale, 3_333) == (3_333, 100)  # 100 on 3334
    assert _refund(sale, 3_334) == (3_334, 100)
    assert sale.commission_fen - sale.commission_reversed_fen == 0


def test_a_refund_beyond_what_stays_paid_takes_back_only_what_is_left():
    sale = _sale(10_000, 300, refunded_fen=9_000, reversed_fen=270)

    assert _refund(sale, 5_000) == (1_000, 30)
    assert _refund(sale, 1) == (0, 0)


def test_the_guide_keeps_the_commission_on_what_stays_paid_rounded_down():
    sale = _sale(10_000, 100)

    assert _refund(sale, 50) == (50, 1)  # 99.5 fen due on 9950: 99
    assert _refund(sale, 50) == (50, 0)  # 99 on 9900


@pytest.mark.parametrize("paid, rate", [(18_450, 300), (18_450, 100), (7, 300),
                                        (99_999, 1_234)])
def test_refunds_in_any_split_take_back_exactly_the_commission_and_never_more(paid, rate):
    rng = random.Random(paid + rate)
    for _ in range(50):
        sale = _sale(paid, rate)
        taken = 0
        while sale.refunded_fen < paid:
            refunded, taken_back = _refund(sale, rng.randint(1, paid))
            taken += taken_back
            assert taken_back >= 0
            assert taken == sale.commission_fen - commission(paid - sale.refunded_fen, rate)
        assert taken == commission(paid, rate)


@pytest.mark.parametrize("paid_at, month, day", [
    (datetime(2026, 11, 30, 15, 59, tzinfo=timezone.utc), "2026-11", "2026-12-08"),
    (datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc), "2026-12", "2026-12-09"),
    (datetime(2026, 12, 31, 16, 30, tzinfo=timezone.utc), "2027-01", "2027-01-09"),
])
def test_a_sale_counts_in_its_shanghai_month_and_settles_after_the_return_window(
        paid_at, month, day, monkeypatch):
    monkeypatch.delenv("RETURN_WINDOW_DAYS", raising=False)  # 7 days

    assert (month_of(paid_at), settle_day(paid_at)) == (month, day)
