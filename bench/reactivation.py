"""Reactivation: what the daily job reads, and how long it takes, for a pond of 10,000 and
of 100,000 members with the same number, 500, members newly dormant.

The pond is loaded straight into DynamoDB Local with BatchWriteItem from threads, with only
the attributes the job looks at: every member has a last order day (and its ActivityDay
index item) spread over the year, and 500 have theirs on the day that makes them dormant
today; half of those can be reached through WeChat (an openid and a send credit), the others
go to their guide's or store's task list. Every DynamoDB read the job makes is asked for
ReturnConsumedCapacity and its read units are summed. Runs on its own DynamoDB Local.
"""
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime, time as day_time, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
NEWLY_DORMANT = 500
STORES = ("store-xintiandi", "store-jingan", "store-lujiazui")
DORMANT_DAYS = 90


@contextmanager
def metering_reads():
    """The DynamoDB reads made inside the block: {"read_units", "requests", "scans",
    "operations"}; each read is asked for ReturnConsumedCapacity."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    metered = {"read_units": 0.0, "requests": 0, "scans": 0, "operations": {}}

    lock = threading.Lock()

    def metering(client, operation, params):
        if client.meta.service_model.service_name != "dynamodb" or operation not in READS:
            return original(client, operation, params)
        response = original(client, operation, {**params, "ReturnConsumedCapacity": "TOTAL"})
        consumed = response.get("ConsumedCapacity")
        if consumed is None:
            raise RuntimeError(f"DynamoDB reported no consumed capacity for {operation}")
        with lock:
            for table in consumed if isinstance(consumed, list) else [consumed]:
                metered["read_units"] += table.get("ReadCapacityUnits", table["CapacityUnits"])
            metered["requests"] += 1
            metered["scans"] += operation == "Scan"
            metered["operations"][operation] = metered["operations"].get(operation, 0) + 1
        return response

    BaseClient._make_api_call = metering
    try:
        yield metered
    finally:
        BaseClient._make_api_call = original


def _at_noon(day):
    return datetime.combine(day, day_time(12), SHANGHAI).astimezone(timezone.utc)


def _write_all(items_by_table, workers=16):
    """BatchWriteItem, 25 items a request, from threads; unprocessed items are sent again."""
    from chalicelib.members.models import Member

    client = Member._get_connection().connection.client
    batches = [(table, items[start:start + 25]) for table, items in items_by_table.items()
               for start in range(0, len(items), 25)]

    def send(batch):
        table, items = batch
        request = {table: [{"PutRequest": {"Item": item}} for item in items]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(send, batches))


def load_pond(others, dormancy_day, newly_dormant=NEWLY_DORMANT, guide_ids=(), prefix=None,
              index_every=1):
    """Writes `others` members whose last order is on some other day of the year around
    `dormancy_day` (none of them dormant today), and `newly_dormant` members whose last
    order is on it; of those, even ones have an openid and a send credit for the reactivation
    message, odd ones are imported members with only a phone, and one in four odd ones has a
    guide (from guide_ids). With index_every=n only every n-th other member's ActivityDay
    item is written (they lie in partitions the job does not read; writing them all doubles
    the load). Returns the newly dormant members' ids."""
    from pynamodb.attributes import UTCDateTimeAttribute

    from chalicelib.members.models import ActivityDay, Member
    from chalicelib.notify.events import EVENTS
    from chalicelib.notify.models import SendCredit

    prefix = prefix or f"m_pond_{uuid.uuid4().hex[:6]}"
    stamp = UTCDateTimeAttribute().serialize
    created = stamp(datetime(2024, 1, 1, tzinfo=timezone.utc))
    template = EVENTS["reactivation"].template_id
    members, days, credits, dormant = [], [], [], []
    for n in range(others):
        # a day from 300 days before the dormancy day to 73 days after, but not the
        # dormancy day or the 13 days after it
        offset = n % 360 - 300
        day = dormancy_day + timedelta(days=offset if offset < 0 else offset + 14)
        member_id = f"{prefix}_{n:07d}"
        members.append({"member_id": {"S": member_id}, "created_at": {"S": created},
                        "openid": {"S": f"o-{member_id}"},
                        "home_store_id": {"S": STORES[n % 3]},
                        "last_order_at": {"S": stamp(_at_noon(day))}})
        if n % index_every == 0:
            days.append({"day": {"S": day.isoformat()}, "member_id": {"S": member_id}})
    for n in range(newly_dormant):
        member_id = f"{prefix}_dormant_{n:05d}"
        item = {"member_id": {"S": member_id}, "created_at": {"S": created},
                "home_store_id": {"S": STORES[n % 3]},
                "last_order_at": {"S": stamp(_at_noon(dormancy_day))}}
        if n % 2 == 0:
            item["openid"] = {"S": f"o-{member_id}"}
            credits.append({"member_id": {"S": member_id}, "template_id": {"S": template},
                            "credits": {"N": "1"}, "accepted": {"N": "1"}})
        else:
            item.update(source={"S": "import"}, phone={"S": f"139{n:08d}"})
            if guide_ids and n % 4 == 1:
                item["guide_id"] = {"S": guide_ids[n // 4 % len(guide_ids)]}
        members.append(item)
        days.append({"day": {"S": dormancy_day.isoformat()}, "member_id": {"S": member_id}})
        dormant.append(member_id)
    _write_all({Member.Meta.table_name: members, ActivityDay.Meta.table_name: days,
                SendCredit.Meta.table_name: credits})
    return dormant


def configure(coupon_id=None, daily_cap=100_000, cooldown_days=60, within_days=14):
    """Reactivation on, and the job's cursor forgotten (its next run covers today only)."""
    from chalicelib.db import cursors
    from chalicelib.reactivation import job, settings

    settings.replace({"enabled": True, "dormant_days": DORMANT_DAYS, "coupon_id": coupon_id,
                      "cooldown_days": cooldown_days, "daily_cap": daily_cap,
                      "reactivated_within_days": within_days}, "bench")
    cursors.forget(job.JOB)


def come_back_coupon(valid_from, days=60):
    from chalicelib.coupons import wallet as coupons

    return coupons.create({"name": "回归券", "kind": "fixed", "amount_fen": 1000,
                           "total": 1_000_000, "valid_from": valid_from.isoformat(),
                           "valid_until": (valid_from + timedelta(days=days)).isoformat(),
                           "visibility": "granted"})


def run_day(dormancy_day):
    """01:00 in Shanghai on the day the members last active on dormancy_day turn dormant."""
    return datetime.combine(dormancy_day + timedelta(days=DORMANT_DAYS), day_time(1),
                            SHANGHAI).astimezone(timezone.utc)


def _measure(pond_size, already, dormancy_day, coupon_id):
    from chalicelib.core.clock import FixedClock
    from chalicelib.reactivation import job

    started = time.perf_counter()
    load_pond(pond_size - already - NEWLY_DORMANT, dormancy_day)
    print(f"  reactivation: pond of {pond_size:,} loaded in {time.perf_counter() - started:.1f} s")
    configure(coupon_id)
    with metering_reads() as reads:
        began = time.perf_counter()
        outcomes = job.run_job(FixedClock(run_day(dormancy_day)))
        job_s = time.perf_counter() - began
    assert outcomes.get("dormant") == NEWLY_DORMANT, outcomes
    assert reads["scans"] == 0, reads
    print(f"  reactivation: {pond_size:,} members: {outcomes}; {reads['read_units']:g} read "
          f"units in {reads['requests']} reads {reads['operations']}; {job_s:.2f} s")
    return reads["read_units"], job_s


def run():
    from bench.members import local_stack
    from devtools.seed import seed_demo_brand

    with local_stack():
        seed_demo_brand()
        first_day = date(2031, 3, 1)
        coupon = come_back_coupon(run_day(first_day) - timedelta(days=1), days=120)
        units_10k, seconds_10k = _measure(10_000, 0, first_day, coupon["coupon_id"])
        # The same pond grown to 100,000, with 500 other members newly dormant a week later.
        units_100k, seconds_100k = _measure(100_000, 10_000, first_day + timedelta(days=7),
                                            coupon["coupon_id"])
    return {"reactivation_read_units_10k": round(units_10k, 1),
            "reactivation_read_units_100k": round(units_100k, 1),
            "reactivation_job_s_10k": round(seconds_10k, 2),
            "reactivation_job_s_100k": round(seconds_100k, 2)}
