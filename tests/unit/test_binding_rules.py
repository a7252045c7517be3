"""Where the protection period of a binding begins and ends, as bindings.decide rules it (the
cases of a first binding, renewing, keeping and self-referral are in test_guide_rules.py).
No DynamoDB."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.guides.bindings import BOUND, KEPT, REBOUND, RENEWED, SELF_REFERRAL, decide

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
TICK = timedelta(microseconds=1)


@pytest.mark.parametrize("served_ago, days, action", [
    (timedelta(days=30) - TICK, 30, KEPT),  # the last moment of the period
    (timedelta(days=30), 30, REBOUND),  # the first one after it
    (timedelta(days=7) - TICK, 7, KEPT),  # a brand's shorter period
    (timedelta(days=7), 7, REBOUND),
    (timedelta(0), 0, REBOUND),  # no period: the last link opened wins
])
def test_another_guides_link_rebinds_only_once_the_protection_period_has_passed(served_ago,
                                                                               days, action):
    assert decide("m1", "g1", NOW - served_ago, "g2", NOW, days) == action


def test_a_binding_never_served_protects_nothing():
    assert decide("m1", "g1", None, "g2", NOW, 30) == REBOUND


def test_the_guides_own_link_renews_their_binding_even_long_after_they_served():
    assert decide("m1", "g1", NOW - timedelta(days=400), "g1", NOW, 30) == RENEWED
    assert decide("m1", "g1", None, "g1", NOW, 30) == RENEWED


def test_a_guide_who_now_holds_another_role_protects_nothing():
    assert decide("m1", "g1", NOW - timedelta(days=1), "g2", NOW, 30,
                  current_serves=False) == REBOUND


def test_a_shopper_without_a_guide_is_bound_by_any_guides_link_but_their_own():
    assert decide("m1", None, NOW - timedelta(days=1), "g2", NOW, 30) == BOUND
    assert decide("m1", None, None, "m1", NOW, 0) == SELF_REFERRAL
