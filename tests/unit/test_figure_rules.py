"""The figures' claims: their keys, and which are kept."""
from datetime import datetime, timedelta

from chalicelib.core.clock import SHANGHAI
from chalicelib.figures import feed


def _at(text):
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_a_days_claims_go_stale_late_after_the_day_and_the_months_never():
    day_claim = feed.fact_key("b", "d05", "s:store-a")
    month_claim = feed.fact_key("b", "m", "s:store-a")
    end_of_the_5th = _at("2031-03-06T00:00:00")
    assert not feed.stale(day_claim, "0badf00d", "2031-03", end_of_the_5th + feed.LATE)
    assert feed.stale(day_claim, "0badf00d", "2031-03",
                      end_of_the_5th + feed.LATE + timedelta(seconds=1))
    assert not feed.stale(month_claim, "0badf00d", "2031-03", _at("2031-03-31T23:59:59"))


def test_a_contributions_claim_goes_stale_late_after_it_was_made():
    made = _at("2031-03-05T12:00:00")
    key, value = feed.contribution_key("p:o-1"), f"abcdef012345@{int(made.timestamp())}"
    assert not feed.stale(key, value, "2031-03", made + feed.LATE)
    assert feed.stale(key, value, "2031-03", made + feed.LATE + timedelta(seconds=1))


def test_claim_keys_are_short_and_distinct():
    keys = {feed.fact_key(kind, code, scope) for kind in "bvr" for code in ("d05", "d15", "m")
            for scope in ("b", "s:store-a", "s:store-b", "c:mall")}
    assert len(keys) == 36 and max(map(len, keys)) <= 12
    assert feed.contribution_key("p:o-1") != feed.contribution_key("p:o-2")
    assert len(feed.contribution_key("r:o-1:2")) == 13


def test_a_contribution_adds_to_its_cohort_within_each_window_of_the_first_order():
    first = _at("2031-01-31T23:30:00")  # January's cohort, in Shanghai
    scopes = ("b",)

    def cohort(after, amounts, new_buyer=False):
        return feed.Contribution("p:o", "m", first + after, scopes, amounts,
                                 new_buyer=new_buyer, first_paid_at=first).cohort()

    assert cohort(timedelta(0), {"gmv_fen": 5_000}, new_buyer=True) == (
        ("ltv:2031-01", "b"), {"net_30d_fen": 5_000, "net_90d_fen": 5_000,
                               "net_180d_fen": 5_000, "net_365d_fen": 5_000,
                               "cohort_members": 1})
    assert cohort(timedelta(days=45), {"refunded_fen": 800})[1] == {
        "net_90d_fen": -800, "net_180d_fen": -800, "net_365d_fen": -800}
    assert cohort(timedelta(days=365), {"gmv_fen": 100})[1] == {}
    assert feed.Contribution("p:o", "m", first, scopes, {"gmv_fen": 1}).cohort() is None
