"""Group-buy: 200 groups of 3, each raced by 10 joiners for its 2 free seats; none may overfill.

In process, not through `chalice local`: over HTTP on 2 cores a sign-in took about 50 ms,
an opening about 110 ms and joins came back at about 16 a second (200 joiners on 20 groups),
so 2,200 sign-ins, 200 openings and 2,000 joins would take over 4 minutes, well past the 2.5
a scenario may take. In process, threads call `joining.open_group` and
`joining.join_group`, the code behind `POST /group-buys/{campaign_id}/groups` and
`POST /groups/{group_id}/orders`, on a DynamoDB Local of the scenario's own.

A live campaign of groups of 3 on one new SKU with 10,000 units in store-xintiandi (the demo
brand seeded). 200 leaders open 200 groups (20 threads, not timed). Then 2,000 members, 10
per group, each join one group, all at once: 100 threads wait at a start line and take the
attempts group after group, so each group's 10 joiners are in flight together and 10 groups
race at a time. A short race of the same kind on 10 other groups warms up the threads'
connections first, outside the figures.

Afterwards, for each of the 200 groups (and the 10 warm-up ones, counted in the same
figure), the Group item and its GroupSeat items are read (consistent reads). A group is
overfilled when its seats_taken, its seats HELD or PAID, or its leader plus the joins
accepted for it come to more than its size. Each of the 200 groups
has 2 free seats, so 400 joins are to be accepted and 1,600 refused with `group_full`.
`group_buy_joins_per_s` counts every join attempt answered (accepted or refused) per second
of the race; the latencies are those of `join_group` calls, refusals included.
"""
import statistics
import threading
import time
import traceback
import uuid
from datetime import datetime, timedelta, timezone

from bench.billing import metering_dynamodb, written
from bench.checkout import STORE_ID, _sku, bench_admin
from bench.members import local_stack

GROUPS, GROUP_SIZE, JOINERS_PER_GROUP = 200, 3, 10
WARM_UP_GROUPS = 10
MEASURED_JOINS = 20  # joins weighed one at a time, as AWS bills them
THREADS = 100
STOCK = 10_000
GROUP_PRICE_FEN = 1_990
LIVE = ("HELD", "PAID")


def _campaign(sku_id):
    from chalicelib.promotions.groups import campaigns

    now = datetime.now(timezone.utc)
    return campaigns.create({"name": "bench 三人团", "stores": [STORE_ID],
                             "items": [{"sku_id": sku_id, "group_price_fen": GROUP_PRICE_FEN}],
                             "group_size": GROUP_SIZE, "fill_minutes": 60,
                             "per_member_limit": 10,
                             "starts_at": (now - timedelta(minutes=1)).isoformat(),
                             "ends_at": (now + timedelta(days=1)).isoformat()},
                            bench_admin())


def _members(prefix, count):
    from chalicelib.members.models import Member

    member_ids = [f"bench-{prefix}-{n}" for n in range(count)]
    now = datetime.now(timezone.utc)
    with Member.batch_write() as batch:
        for member_id in member_ids:
            batch.save(Member(member_id, openid=f"bench-openid-{member_id}", created_at=now))
    return member_ids


def _in_threads(tasks, work, threads):
    """work(*task) for every task, in `threads` threads that start together: (wall seconds,
    [(task, outcome, ms)]) where outcome is what work returned, or a DomainError's code, or
    the name of any other exception (the first of those is printed)."""
    from chalicelib.errors import DomainError

    pending = list(reversed(tasks))
    lock = threading.Lock()
    results = []
    started = {}
    start = threading.Barrier(threads + 1,
                              action=lambda: started.setdefault("at", time.perf_counter()))

    def worker():
        start.wait()
        while True:
            with lock:
                if not pending:
                    return
                task = pending.pop()
            began = time.perf_counter()
            try:
                outcome = work(*task)
            except DomainError as refusal:
                outcome = refusal.code
            except Exception as error:  # noqa: BLE001 — counted and shown, never hidden
                outcome = type(error).__name__
                with lock:
                    if "shown" not in started:
                        started["shown"] = True
                        print(f"  group_buy: {task}: {traceback.format_exc()}")
            ms = (time.perf_counter() - began) * 1000
            with lock:
                results.append((task, outcome, ms))

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    start.wait(timeout=120)
    for thread in workers:
        thread.join()
    return time.perf_counter() - started["at"], results


def _open_groups(campaign, sku_id, leaders):
    """Each leader opens a group: [group id] in the leaders' order."""
    from chalicelib.promotions.groups import joining

    def open_one(leader_id):
        order, created = joining.open_group(leader_id, campaign.campaign_id, uuid.uuid4().hex,
                                            {"store_id": STORE_ID, "sku_id": sku_id})
        assert created and order.group_id, order.order_id
        return order.group_id

    _, results = _in_threads([(leader,) for leader in leaders], open_one, 20)
    opened = {task[0]: outcome for task, outcome, _ in results}
    failed = {leader: outcome for leader, outcome in opened.items()
              if not str(outcome).startswith("g")}
    assert not failed, f"leaders could not open their groups: {failed}"
    return [opened[leader] for leader in leaders]


def _race(group_ids, joiners):
    """JOINERS_PER_GROUP joiners per group, group after group, in THREADS threads: (wall
    seconds, [(group id, member id, order id or refusal, ms)])."""
    from chalicelib.promotions.groups import joining

    def join(group_id, member_id):
        order, created = joining.join_group(member_id, group_id, uuid.uuid4().hex, {})
        assert created and order.group_id == group_id, order.order_id
        return order.order_id

    tasks = [(group_id, joiners[n * JOINERS_PER_GROUP + k])
             for n, group_id in enumerate(group_ids) for k in range(JOINERS_PER_GROUP)]
    wall_s, results = _in_threads(tasks, join, THREADS)
    return wall_s, [(group_id, member_id, outcome, ms)
                    for (group_id, member_id), outcome, ms in results]


def _join_write_units(campaign, sku_id):
    """Write units of one join, as AWS bills them: MEASURED_JOINS groups opened, one member
    joining each, one at a time."""
    from chalicelib.promotions.groups import joining

    group_ids = _open_groups(campaign, sku_id, _members("group-measured-leader", MEASURED_JOINS))
    units = []
    for group_id, member_id in zip(group_ids, _members("group-measured", MEASURED_JOINS)):
        with metering_dynamodb() as calls:
            order, created = joining.join_group(member_id, group_id, uuid.uuid4().hex, {})
        assert created and order.group_id == group_id, order.order_id
        units.append(written(calls))
    return statistics.mean(units)


def _accepted(outcome):
    return str(outcome).startswith("o")


def _overfilled(group_ids, joins):
    """Groups with more seats than their size, from DynamoDB (consistent reads) and from the
    joins accepted; whatever else does not add up is printed."""
    from chalicelib.orders.models import Order
    from chalicelib.promotions.groups.models import Group, GroupSeat

    accepted = {}
    for group_id, member_id, outcome, _ in joins:
        if _accepted(outcome):
            accepted.setdefault(group_id, []).append((member_id, outcome))
    overfilled, odd = 0, []
    for group_id in group_ids:
        group = Group.get(group_id, consistent_read=True)
        seats = list(GroupSeat.query(group_id, consistent_read=True))
        live = [seat for seat in seats if seat.status in LIVE]
        joined = accepted.get(group_id, [])
        if max(group.seats_taken, len(live), 1 + len(joined)) > group.size:
            overfilled += 1
            odd.append(f"{group_id} overfilled: size {group.size}, seats_taken "
                       f"{group.seats_taken}, {len(live)} seats held or paid, leader + "
                       f"{len(joined)} joins accepted")
        elif not group.seats_taken == len(live) == 1 + len(joined) or group.status != "OPEN":
            odd.append(f"{group_id}: {group.status}, seats_taken {group.seats_taken}, "
                       f"{len(live)} seats held or paid, leader + {len(joined)} joins accepted")
        seat_orders = {seat.member_id: seat.order_id for seat in live}
        if any(seat_orders.get(member_id) != order_id for member_id, order_id in joined):
            odd.append(f"{group_id}: accepted joins {joined} but seats {seat_orders}")
    order_ids = [order_id for joined in accepted.values() for _, order_id in joined]
    found = {order.order_id: order for order in Order.batch_get(order_ids)}
    strays = [order_id for order_id in order_ids
              if order_id not in found or found[order_id].group_id not in group_ids]
    if strays:
        odd.append(f"accepted orders missing or in another group: {strays[:10]}")
    for line in odd[:20]:
        print(f"  group_buy: {line}")
    if len(odd) > 20:
        print(f"  group_buy: … and {len(odd) - 20} more")
    return overfilled


def run():
    from pynamodb import settings as pynamodb_settings

    from chalicelib.catalog.stock import current
    from devtools.seed import seed_demo_brand

    # A connection per thread to DynamoDB Local, as each Lambda container has its own
    # (PynamoDB's default pool of 10 would open and drop connections all through the race).
    pool = pynamodb_settings.default_settings_dict["max_pool_connections"]
    pynamodb_settings.default_settings_dict["max_pool_connections"] = THREADS + 10
    try:
        with local_stack():
            seed_demo_brand()
            sku_id = _sku("group-buy", STOCK)
            campaign = _campaign(sku_id)
            all_groups = GROUPS + WARM_UP_GROUPS
            leaders = _members("group-leader", all_groups)
            joiners = _members("group-joiner", all_groups * JOINERS_PER_GROUP)
            group_ids = _open_groups(campaign, sku_id, leaders)
            warm_up_ids, group_ids = group_ids[:WARM_UP_GROUPS], group_ids[WARM_UP_GROUPS:]
            _, warm_up = _race(warm_up_ids, joiners[:WARM_UP_GROUPS * JOINERS_PER_GROUP])
            wall_s, joins = _race(group_ids, joiners[WARM_UP_GROUPS * JOINERS_PER_GROUP:])
            overfilled = _overfilled(group_ids, joins)
            join_units = _join_write_units(campaign, sku_id)
            warm_up_overfilled = _overfilled(warm_up_ids, warm_up)
            if warm_up_overfilled:
                print(f"  group_buy: {warm_up_overfilled} warm-up groups overfilled")
            answers = {}
            for _, _, outcome, _ in joins:
                code = "accepted" if _accepted(outcome) else outcome
                answers[code] = answers.get(code, 0) + 1
            accepted = answers.get("accepted", 0)
            orders_placed = all_groups + accepted + sum(_accepted(outcome)
                                                        for *_, outcome, _ in warm_up)
            left = current(STORE_ID, sku_id)
            if left != STOCK - orders_placed:
                print(f"  group_buy: stock {left} left of {STOCK}, {orders_placed} orders")
            ms = [ms for *_, ms in joins]
            print(f"  group_buy: {len(joins)} join attempts at {GROUPS} groups in "
                  f"{wall_s:.1f} s; answers {answers}; {overfilled} groups overfilled")
    finally:
        pynamodb_settings.default_settings_dict["max_pool_connections"] = pool
    return {
        "group_buy_overfilled_groups": overfilled + warm_up_overfilled,
        "group_buy_write_units_per_join": round(join_units, 1),
        "group_buy_joins_accepted": accepted,
        "group_buy_joins_per_s": round(len(joins) / wall_s, 1),
        "group_buy_join_p50_ms": round(statistics.median(ms), 1),
        "group_buy_join_p99_ms": round(statistics.quantiles(ms, n=100,
                                                            method="inclusive")[98], 1),
    }
