"""The clock rules of promotions, as shoppers and operators meet them: when a flash sale's
reminders go out, its units move in and come back, what the sale shows; how long a group has
to fill; when a live session goes live and ends; and the hot-stock shards' arithmetic (units
split evenly, a purchase taken whole from the shards that have units). No DynamoDB."""
import random
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.promotions import hotstock
from chalicelib.promotions.flash import sales
from chalicelib.promotions.flash.models import FlashSale
from chalicelib.promotions.flash.window import GIVE_BACK, REMIND, STOCK_IN, steps_due
from chalicelib.promotions.groups.campaigns import fill_deadline
from chalicelib.promotions.groups.models import GroupBuy
from chalicelib.promotions.live import sessions as live
from chalicelib.promotions.live.models import (APPROVED, ENDED, LIVE, PENDING, REJECTED,
                                               SCHEDULED, LiveSession)

START = datetime(2026, 12, 12, 12, 0, tzinfo=timezone.utc)
END = START + timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def _sale(**state):
    return FlashSale("fs1", **{"starts_at": START, "ends_at": END, "reminders": True,
                               **state})


@pytest.mark.parametrize("now, state, due", [
    (START - 6 * MINUTE, {}, []),
    (START - 5 * MINUTE, {}, [REMIND]),
    (START - 3 * MINUTE, {"reminded_at": START - 5 * MINUTE}, []),
    (START - 2 * MINUTE, {"reminded_at": START - 5 * MINUTE}, [STOCK_IN]),
    (START - 2 * MINUTE, {}, [REMIND, STOCK_IN]),  # the job was late: both, reminder first
    (START - 2 * MINUTE, {"reminders": False}, [STOCK_IN]),
    (START + 10 * MINUTE, {"reminded_at": START, "stocked": {"tea": 5}}, []),
    (END - timedelta(microseconds=1), {"stocked": {"tea": 5}, "reminded_at": START}, []),
    (END, {"stocked": {"tea": 5}}, [GIVE_BACK]),
    (END, {}, [GIVE_BACK]),  # never stocked: it still closes, giving back nothing
    (END + MINUTE, {"stocked": {"tea": 5}, "returned": {"tea": 2}}, []),
    (START + MINUTE, {"stocked": {"tea": 5}, "ended_early_at": START}, [GIVE_BACK]),
    (START - 5 * MINUTE, {"ended_early_at": START - 10 * MINUTE}, [GIVE_BACK]),
])
def test_a_flash_sale_reminds_5_minutes_before_stocks_2_before_and_gives_back_once_closed(
        now, state, due):
    assert steps_due(_sale(**state), now) == due


@pytest.mark.parametrize("state, now, step", [
    ({}, START - 10 * MINUTE, START - 5 * MINUTE),  # its reminders
    ({"reminders": False}, START - 10 * MINUTE, START - 2 * MINUTE),  # its units
    ({"reminded_at": START - 5 * MINUTE}, START - 4 * MINUTE, START - 2 * MINUTE),
    ({"reminded_at": START, "stocked": {}}, START, END),  # giving back
    ({}, START + MINUTE, START + MINUTE),  # overdue steps are due now
    ({"reminded_at": START, "stocked": {}, "ended_early_at": START + MINUTE}, START,
     START + MINUTE),  # ended early
    ({"stocked": {}, "returned": {}}, END, None),  # nothing more
])
def test_the_window_job_next_looks_at_a_sale_when_its_next_step_is_due(state, now, step):
    assert sales._next_step(_sale(**state), now) == step


@pytest.mark.parametrize("now, state, left, shown", [
    (START - MINUTE, {}, {"tea": 5}, "upcoming"),
    (START, {"stocked": {"tea": 5}}, {"tea": 5}, "live"),
    (START, {"stocked": {"tea": 5}}, {"tea": 0}, "sold_out"),
    (START, {}, {"tea": 0}, "live"),  # units not yet moved in: not sold out
    (END, {"stocked": {"tea": 5}}, {"tea": 5}, "ended"),
    (START + MINUTE, {"ended_early_at": START + MINUTE}, {"tea": 5}, "ended"),
])
def test_a_sale_shows_upcoming_live_sold_out_or_ended(now, state, left, shown):
    assert sales.status(_sale(**state), left, now) == shown


@pytest.mark.parametrize("units, shown", [(0, 0), (7, 7), (10, 10), (11, 10), (19, 10),
                                          (20, 20), (1_234, 1_230)])
def test_units_left_show_exactly_up_to_ten_then_in_tens(units, shown):
    assert sales.for_display(units) == shown == live.for_display(units)


def test_a_group_has_its_fill_time_but_never_past_the_campaigns_end():
    campaign = GroupBuy("gb1", fill_minutes=24 * 60, ends_at=END)

    assert fill_deadline(campaign, END - timedelta(days=2)) == END - timedelta(days=1)
    assert fill_deadline(campaign, END - timedelta(hours=3)) == END
    assert fill_deadline(GroupBuy("gb2", fill_minutes=30, ends_at=END), START) == \
        START + timedelta(minutes=30)


def _session(status=SCHEDULED, approval=APPROVED):
    return LiveSession("ls1", starts_at=START, ends_at=END, status=status, approval=approval)


@pytest.mark.parametrize("session, now, wanted, transition", [
    (_session(), START - MINUTE, None, None),
    (_session(), START, None, LIVE),
    (_session(), START - MINUTE, LIVE, LIVE),  # the host starts early
    (_session(approval=None), START, None, LIVE),  # made before approvals: approved
    (_session(approval=PENDING), START, None, None),
    (_session(approval=PENDING), START - MINUTE, LIVE, None),
    (_session(approval=REJECTED), END, None, ENDED),  # ends, having moved nothing
    (_session(LIVE), END - MINUTE, None, None),
    (_session(LIVE), END - MINUTE, LIVE, None),  # starting again changes nothing
    (_session(LIVE), END - MINUTE, ENDED, ENDED),  # the host ends it
    (_session(LIVE), END, None, ENDED),
    (_session(), END, LIVE, ENDED),  # too late to go live: it ends
    (_session(ENDED), END + MINUTE, ENDED, None),
])
def test_a_live_session_goes_live_at_its_start_if_approved_and_ends_at_its_end(
        session, now, wanted, transition):
    assert live.transition_due(session, now, wanted) == transition


@pytest.mark.parametrize("session, now, step", [
    (_session(), START - MINUTE, START),
    (_session(approval=PENDING), START - MINUTE, END),
    (_session(LIVE), START, END),
    (_session(LIVE), END + MINUTE, END + MINUTE),
    (_session(ENDED), END, None),
])
def test_the_live_job_next_looks_at_a_session_when_its_next_transition_is_due(session, now,
                                                                             step):
    assert live._next_step(session, now) == step


@pytest.mark.parametrize("peak, units, shards", [(2_000, 1_000, 3), (2_401, 1_000, 4),
                                                 (800, 1_000, 1), (801, 1_000, 2),
                                                 (100, 1_000, 1), (0, 1_000, 1),
                                                 (50_000, 1_000, 20), (2_000, 2, 2),
                                                 (2_000, 0, 1)])
def test_a_pool_has_a_shard_per_800_orders_a_second_at_most_20_and_no_more_than_units(
        peak, units, shards):
    assert hotstock.shard_count(peak, units) == shards


@pytest.mark.parametrize("units, shards, split", [(10, 4, [3, 3, 2, 2]), (3, 4, [1, 1, 1, 0]),
                                                  (0, 2, [0, 0]), (8, 1, [8])])
def test_a_pools_units_are_split_as_evenly_as_they_go(units, shards, split):
    assert hotstock.split_evenly(units, shards) == split


def test_a_purchase_takes_from_the_shard_it_starts_at_and_what_it_lacks_from_the_next():
    stocked = [(0, 2), (2, 5), (3, 1)]  # shard 1 is empty

    assert hotstock.takes_from(stocked, 1, 0) == {0: 1}
    assert hotstock.takes_from(stocked, 4, 0) == {0: 2, 2: 2}
    assert hotstock.takes_from(stocked, 3, 2) == {3: 1, 0: 2}  # round to the first
    assert hotstock.takes_from(stocked, 8, 1) == {2: 5, 3: 1, 0: 2}


def test_takes_always_make_the_quantity_and_never_more_than_a_shard_has():
    rng = random.Random(20)
    for _ in range(500):
        stocked = [(n, rng.randint(1, 9)) for n in sorted(rng.sample(range(20),
                                                                      rng.randint(1, 8)))]
        quantity = rng.randint(1, sum(units for _, units in stocked))
        takes = hotstock.takes_from(stocked, quantity, rng.randrange(len(stocked)))

        assert sum(takes.values()) == quantity
        assert all(0 < units <= dict(stocked)[shard] for shard, units in takes.items())
