"""Reports: what the retail figures cost to keep, and what a report costs to read, for a
brand with 10,000 and with 100,000 paid orders in the same 30 days.

The orders are fed to the figures as the figures' stream function gets them: each day's
orders paid at RATE a second from noon, of 3 stores, 4 channels and 2 guides (a tenth of them
refunded two hours later), in batches of what one FIGURES_WINDOW_S window gathers, at most
FIGURES_BATCH_SIZE (chalicelib/jobs/streams.py), four batches at a time (as shards are);
every write of the 10,000 orders' brand is weighed as AWS bills it (bench/billing.py). Then
the sales report of the 30 days is asked for, grouped by day, by store, by channel and by guide, each read asked for
ReturnConsumedCapacity. Runs on its own DynamoDB Local.
"""
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from bench.billing import metering_dynamodb, written
from bench.members import local_stack
from bench.reactivation import metering_reads

STORES = ("store-a", "store-b", "store-c")
CHANNELS = ("mall", "flash_sale", "group_buy", "live")
GUIDES = ("guide-1", "guide-2", None, None)
DAYS = 30
START = datetime(2031, 3, 1, 4, tzinfo=timezone.utc)  # noon in Shanghai


RATE = 20  # orders paid a second during a day's busy hour


def _contributions(orders, members, tag):
    """The brand's contributions (feed.paid and feed.refunded of its orders, as the stream
    hands them over), in the batches the figures' function would get."""
    from types import SimpleNamespace

    from chalicelib.figures import feed
    from chalicelib.jobs.streams import FIGURES_BATCH_SIZE, FIGURES_WINDOW_S
    from chalicelib.orders.events import SettledRefund

    windows, first_paid = {}, {}
    per_day = orders // DAYS
    for n in range(orders):
        day, nth = divmod(n, per_day)
        at = START + timedelta(days=min(day, DAYS - 1), seconds=nth / RATE)
        member = f"{tag}-m{n % members}"
        channel = CHANNELS[n % 4]
        order = SimpleNamespace(
            order_id=f"{tag}-o{n}", member_id=member, store_id=STORES[n % 3], channel=channel,
            guide_id=GUIDES[n % 4], paid_at=at, total_fen=5_000 + n % 7 * 100,
            flash_sale_id="fs-1" if channel == "flash_sale" else None,
            group_buy_id="gb-1" if channel == "group_buy" else None,
            live_session_id="live-1" if channel == "live" else None,
            breakdown={"lines": [{"quantity": 1 + n % 3}], "coupon_discount_fen": 0,
                       "points_fen": 0, "coupon_id": None},
            member_order_number=1 if n < members else 2,
            member_first_paid_at=first_paid.setdefault(member, at))
        made = [feed.paid(order)]
        if n % 10 == 0:
            made.append(feed.refunded(SettledRefund(order, 1, 2_000, at + timedelta(hours=2))))
        for contribution in made:
            window = int(contribution.at.timestamp()) // FIGURES_WINDOW_S
            windows.setdefault(window, []).append(contribution)
    return [batch[start:start + FIGURES_BATCH_SIZE] for _, batch in sorted(windows.items())
            for start in range(0, len(batch), FIGURES_BATCH_SIZE)]


def _feed(batches):
    """Each batch as the function gets it, a window after its last contribution (the claims'
    staleness follows the batch's own time)."""
    from chalicelib.core.clock import FixedClock
    from chalicelib.figures import feed
    from chalicelib.jobs.streams import FIGURES_WINDOW_S

    def add(batch):
        handed = max(c.at for c in batch) + timedelta(seconds=FIGURES_WINDOW_S)
        feed.add(batch, FixedClock(handed))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add, batches))


def _reports():
    from chalicelib.figures import reports

    first, last = START.date().isoformat(), (START + timedelta(days=DAYS - 1)).date().isoformat()
    answers, times = [], []
    with metering_reads() as reads:
        for group_by in ("day", "store", "channel", "guide"):
            started = time.perf_counter()
            answers.append(reports.sales(first, last, group_by=group_by))
            times.append((time.perf_counter() - started) * 1000)
    return answers, reads, times


def run():
    figures = {}
    for orders, name in ((10_000, "10k"), (100_000, "100k")):
        with local_stack():  # each brand on a DynamoDB of its own
            batches = _contributions(orders, orders // 5, f"{name}-{uuid.uuid4().hex[:6]}")
            if name == "10k":
                with metering_dynamodb() as calls:
                    _feed(batches)
                paid = sum(1 for batch in batches for c in batch if c.buys)
                figures["figures_write_units_per_paid_order"] = round(written(calls) / paid, 2)
            else:
                _feed(batches)
            answers, reads, times = _reports()
            assert answers[0]["totals"]["orders"] == orders, answers[0]["totals"]
            figures[f"report_read_units_{name}_orders"] = round(reads["read_units"], 1)
            figures[f"report_p50_ms_{name}_orders"] = round(statistics.median(times), 1)
    figures["report_p50_ms"] = figures["report_p50_ms_10k_orders"]
    return figures
