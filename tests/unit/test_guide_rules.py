"""The guide rules that carry money: who a link binds, and who earns on a paid order."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("current, served_days_ago, serving, new, expected", [
    (None, None, True, "g1", "bound"),
    ("g1", 3, True, "g1", "renewed"),
    ("g1", 29, True, "g2", "kept"),
    ("g1", 30, True, "g2", "rebound"),
    ("g1", 400, True, "g2", "rebound"),
    ("g1", 3, False, "g2", "rebound"),  # a removed guide's binding protects nothing
    ("m1", 3, True, "g2", "rebound"),  # nor does a binding to oneself (made before refusals)
    (None, None, True, "m1", "self_referral"),
    ("g1", 3, True, "m1", "self_referral"),
    ("m1", 3, True, "m1", "self_referral"),
])
def test_a_link_binds_renews_keeps_or_is_refused(current, served_days_ago, serving, new,
                                                 expected):
    from chalicelib.guides.bindings import decide

    served = NOW - timedelta(days=served_days_ago) if served_days_ago is not None else None
    assert decide("m1", current, served, new, NOW, 30, current_serves=serving) == expected


def _guide(member_id, role="guide"):
    return SimpleNamespace(member_id=member_id, role=role)


@pytest.mark.parametrize("buyer, guide, recruiter, expected", [
    ("m1", _guide("g1"), _guide("g0"), [("g1", 1), ("g0", 2)]),
    ("m1", _guide("g1"), None, [("g1", 1)]),
    ("m1", _guide("g1"), _guide("a0", "admin"), [("g1", 1)]),  # invited by an admin
    ("g1", _guide("g1"), _guide("g0"), []),  # a guide's own purchase earns nobody anything
    ("g0", _guide("g1"), _guide("g0"), [("g1", 1)]),  # a recruiter buying earns no tier 2
    ("m1", None, _guide("g0"), []),  # no longer a guide at payment
    ("m1", _guide("g1", "store_manager"), None, []),
])
def test_who_earns_on_a_paid_order(buyer, guide, recruiter, expected):
    from chalicelib.guides.commissions import earners

    assert [(e["guide_id"], e["tier"]) for e in earners(buyer, guide, recruiter)] == expected
