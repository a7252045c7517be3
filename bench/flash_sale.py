"""Flash sale: what one flash order costs in write units, and a stampede on a live sale.

In process: members buy one unit each in a live 8-shard sale through `buying.buy` (the code
behind `POST /flash-sales/{id}/orders`); every DynamoDB call is asked for its consumed
capacity and the write units are summed per order. Then more members try the sold-out sale:
what a sold-out answer costs in write units (none are expected: it is decided by reads).

Over HTTP: `chalice local` (its own process, 127.0.0.1) in front of the same DynamoDB Local.
100 shoppers, each signed in with a connection of their own, wait at a start line and then
make 20 attempts each at a live sale of 200 units of one SKU in one store (2 per member, so
2,000 attempts for 200 units), a fresh Idempotency-Key per attempt, going on after it is sold
out. The same stampede runs twice in the same `chalice local`, after a short one outside the
figures that warms it up: on a sale planned for 6,400 orders a second (8 shards), then on one
planned for a trickle (1 shard). After each, the shards (consistent reads) and the sale's
orders in the table must account for every unit exactly.

The units move into the shards before the stampede, as the `flash-sales-minute` job does two
minutes before a start. DynamoDB Local has no per-item write limit (real DynamoDB takes about
1,000 writes a second on one item, which is what the shards are for), and one `chalice local`
process on one machine is far below that rate anyway: the one-shard figure comes out about
the same here (within run-to-run noise), and says nothing about a one-shard sale on real
DynamoDB at its peak.
"""
import statistics
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from bench.billing import metering_dynamodb, transactions_touching, written
from bench.checkout import STORE_ID, _chalice_local, _signed_in, _sku, bench_admin
from bench.members import local_stack

SHOPPERS, ATTEMPTS_PER_SHOPPER = 100, 20
SALE_UNITS, PER_MEMBER_LIMIT = 200, 2
PEAK_PER_S, ONE_SHARD_PEAK_PER_S = 6_400, 100  # 8 shards; 1 shard
MEASURED_ORDERS, SOLD_OUT_ATTEMPTS = 20, 5
WARM_UP_UNITS, WARM_UP_ATTEMPTS = 50, 2  # per shopper
FLASH_PRICE_FEN = 1_290  # the SKU sells at 2,000; the floor is half of it


def _live_sale(name, units, peak_per_s):
    """A sale of one new SKU in STORE_ID that started a minute ago, its units already in its
    shards (regular stock holds 100 more than the sale takes): (sale, sku_id)."""
    from chalicelib.catalog.stock import current
    from chalicelib.promotions.flash import sales, window

    sku_id = _sku(name, units + 100)
    now = datetime.now(timezone.utc)
    sale = sales.create({"name": f"bench {name}", "per_member_limit": PER_MEMBER_LIMIT,
                         "stores": [STORE_ID],
                         "items": [{"sku_id": sku_id, "flash_price_fen": FLASH_PRICE_FEN,
                                    "quantity": units}],
                         "starts_at": (now - timedelta(minutes=1)).isoformat(),
                         "ends_at": (now + timedelta(hours=1)).isoformat(),
                         "expected_peak_per_s": peak_per_s}, bench_admin())
    window.run_steps(sale)
    sale = sales.get(sale.sale_id)
    assert sale.stocked == {sku_id: units}, sale.stocked
    assert current(STORE_ID, sku_id) == 100
    return sale, sku_id


def _members(prefix, count):
    from chalicelib.members.models import Member

    member_ids = [f"bench-{prefix}-{n}" for n in range(count)]
    for member_id in member_ids:
        Member(member_id, openid=f"bench-openid-{member_id}",
               created_at=datetime.now(timezone.utc)).save()
    return member_ids


def _in_process():
    """(write units per flash order, write units per sold-out answer, transactions per order
    that touch a stock shard, {operation: calls per order}) through `buying.buy`, on an
    8-shard sale."""
    from chalicelib.errors import DomainError
    from chalicelib.promotions.flash import buying

    sale, sku_id = _live_sale("flash-measured", MEASURED_ORDERS + 1, PEAK_PER_S)
    assert sale.shard_count == 8, sale.shard_count
    request = {"store_id": STORE_ID, "sku_id": sku_id, "quantity": 1}
    warm_up, *buyers = _members("flash-buyer", MEASURED_ORDERS + 1)
    buying.buy(warm_up, sale.sale_id, uuid.uuid4().hex, request)  # imports, connections
    write_units, hot_transactions, operations = [], [], {}
    for member_id in buyers:
        with metering_dynamodb() as calls:
            order, created = buying.buy(member_id, sale.sale_id, uuid.uuid4().hex, request)
        assert created and order.total_fen == FLASH_PRICE_FEN, order.total_fen
        write_units.append(written(calls))
        hot_transactions.append(transactions_touching(calls, "stock-shards"))
        for operation, *_ in calls:
            operations[operation] = operations.get(operation, 0) + 1

    sold_out_units = []
    for member_id in _members("flash-late", SOLD_OUT_ATTEMPTS):
        with metering_dynamodb() as calls:
            try:
                buying.buy(member_id, sale.sale_id, uuid.uuid4().hex, request)
                raise AssertionError("a unit was sold beyond the sale's quantity")
            except DomainError as refusal:
                assert refusal.code == "sold_out", refusal.code
        sold_out_units.append(written(calls))
    per_order = {op: count / MEASURED_ORDERS for op, count in sorted(operations.items())}
    return (statistics.mean(write_units), statistics.mean(sold_out_units),
            statistics.mean(hot_transactions), per_order)


def _shopper(session, url, request, sku_id, attempts, start, outcome):
    """Purchases of 1 unit, a fresh Idempotency-Key each, whatever the answers."""
    import requests

    start.wait()
    for _ in range(attempts):
        began = time.perf_counter()
        try:
            answer = session.post(url, json=request, timeout=120,
                                  headers={"Idempotency-Key": uuid.uuid4().hex})
        except requests.RequestException as error:
            code = type(error).__name__
            outcome["answers"][code] = outcome["answers"].get(code, 0) + 1
            continue
        outcome["ms"].append((time.perf_counter() - began) * 1000)
        if answer.status_code == 201:
            outcome["last_sold_at"] = time.perf_counter()
            order = answer.json()
            outcome["orders"].append(order["order_id"])
            outcome["units"] += sum(line["quantity"] for line in order["breakdown"]["lines"]
                                    if line["sku_id"] == sku_id)
            code = "201"
        else:
            try:
                code = answer.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
            code = f"{answer.status_code} {code}"
        outcome["answers"][code] = outcome["answers"].get(code, 0) + 1


def _stampede(base_url, sessions, sale, sku_id, attempts=ATTEMPTS_PER_SHOPPER):
    """Every shopper's attempts at the sale, all at once: attempts, wall seconds, seconds to
    the last unit sold, answers' latencies in ms, {answer: count}, order ids given, units in
    them."""
    url = f"{base_url}/flash-sales/{sale.sale_id}/orders"
    request = {"store_id": STORE_ID, "sku_id": sku_id, "quantity": 1}
    started = {}
    start = threading.Barrier(len(sessions) + 1, action=lambda: started.setdefault(
        "at", time.perf_counter()))
    outcomes = [{"ms": [], "orders": [], "units": 0, "answers": {}} for _ in sessions]
    shoppers = [threading.Thread(target=_shopper, args=(session, url, request, sku_id,
                                                        attempts, start, outcome))
                for session, outcome in zip(sessions, outcomes)]
    for shopper in shoppers:
        shopper.start()
    start.wait(timeout=120)
    for shopper in shoppers:
        shopper.join()
    wall_s = time.perf_counter() - started["at"]
    answers = {}
    for outcome in outcomes:
        for code, count in outcome["answers"].items():
            answers[code] = answers.get(code, 0) + count
    last_sold_at = max((outcome.get("last_sold_at", 0) for outcome in outcomes), default=0)
    return {"attempts": sum(answers.values()), "wall_s": wall_s,
            "selling_s": max(0, last_sold_at - started["at"]),
            "ms": [ms for outcome in outcomes for ms in outcome["ms"]], "answers": answers,
            "orders": [order_id for outcome in outcomes for order_id in outcome["orders"]],
            "units": sum(outcome["units"] for outcome in outcomes)}


def _oversold(sale, sku_id, run):
    """Units sold beyond the sale's quantity, and shards below zero, from DynamoDB (consistent
    reads): the orders the shoppers were given, and every order of the sale in the table.
    Whatever else does not add up is printed."""
    from chalicelib.orders.models import Order
    from chalicelib.promotions.flash.models import FlashPurchases
    from chalicelib.promotions.hotstock import StockShard

    quantity = sale.items[0]["quantity"]
    shards = list(StockShard.query(f"{sale.sale_id}#{sku_id}", consistent_read=True))
    given = list(Order.batch_get(run["orders"]))
    in_table = [order for order in Order.scan(Order.flash_sale_id == sale.sale_id,
                                              consistent_read=True)]
    units_given = sum(line["quantity"] for order in given for line in order.breakdown["lines"]
                      if line["sku_id"] == sku_id)
    units_in_table = sum(line["quantity"] for order in in_table
                         for line in order.breakdown["lines"] if line["sku_id"] == sku_id)
    sold = max(run["units"], units_given, units_in_table)
    left = sum(shard.remaining for shard in shards)
    oversold = max(0, sold - quantity) + sum(max(0, -shard.remaining) for shard in shards)

    odd = []
    if len(shards) != sale.shard_count:
        odd.append(f"{len(shards)} shard items for {sale.shard_count} shards")
    if not (len(given) == len(run["orders"]) == len(set(run["orders"])) == len(in_table)):
        odd.append(f"{len(run['orders'])} orders given ({len(set(run['orders']))} distinct, "
                   f"{len(given)} found), {len(in_table)} of the sale in the table")
    if not run["units"] == units_given == units_in_table:
        odd.append(f"units: {run['units']} answered, {units_given} in the orders given, "
                   f"{units_in_table} in the sale's orders")
    if left != quantity - sold:
        odd.append(f"shards hold {left}, quantity {quantity} - sold {sold} = {quantity - sold}")
    per_member = {}
    for order in in_table:
        per_member[order.member_id] = per_member.get(order.member_id, 0) + sum(
            line["quantity"] for line in order.breakdown["lines"])
    over_limit = {member: units for member, units in per_member.items()
                  if units > sale.per_member_limit}
    if over_limit:
        odd.append(f"members over the limit: {over_limit}")
    counted = {p.key.partition("#")[2]: p.units for p in FlashPurchases.batch_get(
        [f"{sale.sale_id}#{member}" for member in per_member])}
    differ = {member: (counted.get(member), units) for member, units in per_member.items()
              if counted.get(member) != units}
    if differ:
        odd.append(f"members' counters, and units in their orders, differ: {differ}")
    unexpected = {code: count for code, count in run["answers"].items()
                  if code not in ("201", "409 sold_out", "409 flash_sale_limit")}
    if unexpected:
        odd.append(f"unexpected answers: {unexpected}")
    for line in odd:
        print(f"  flash_sale ({_shards(sale)}): {line}")
    return oversold, sold, left


def _shards(sale):
    return f"{sale.shard_count} shard{'s' if sale.shard_count > 1 else ''}"


def _stampedes():
    """The 8-shard and the 1-shard stampede through one `chalice local`, one after the other,
    by the same signed-in shoppers (the limit is per sale)."""
    sale, sku_id = _live_sale("flash-hot", SALE_UNITS, PEAK_PER_S)
    one_shard_sale, one_shard_sku = _live_sale("flash-hot-one-shard", SALE_UNITS,
                                               ONE_SHARD_PEAK_PER_S)
    warm_up_sale, warm_up_sku = _live_sale("flash-warm-up", WARM_UP_UNITS, PEAK_PER_S)
    assert (sale.shard_count, one_shard_sale.shard_count) == (8, 1)
    with _chalice_local() as base_url:
        # One purchase first, outside the figures: the server imports the flash code on first
        # use. Then the shoppers sign in one after another: `chalice local` listens with a
        # backlog of 5, and their connections are kept alive, so the stampedes open none.
        with _signed_in(base_url, "bench-flash-warm-up") as session:
            answer = session.post(f"{base_url}/flash-sales/{warm_up_sale.sale_id}/orders",
                                  json={"store_id": STORE_ID, "sku_id": warm_up_sku,
                                        "quantity": 1},
                                  headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=60)
            assert answer.status_code == 201, answer.text
        sessions = [_signed_in(base_url, f"bench-flash-shopper-{n}") for n in range(SHOPPERS)]
        try:
            # A short stampede outside the figures: the first one also warms up the server and
            # DynamoDB Local, which would otherwise count against whichever sale went first.
            _stampede(base_url, sessions, warm_up_sale, warm_up_sku, WARM_UP_ATTEMPTS)
            runs = {"sharded": _stampede(base_url, sessions, sale, sku_id),
                    "one shard": _stampede(base_url, sessions, one_shard_sale, one_shard_sku)}
        finally:
            for session in sessions:
                session.close()

    oversold = 0
    for label, (run_sale, run_sku) in (("sharded", (sale, sku_id)),
                                       ("one shard", (one_shard_sale, one_shard_sku))):
        run = runs[label]
        units_oversold, sold, left = _oversold(run_sale, run_sku, run)
        oversold += units_oversold
        print(f"  flash_sale ({_shards(run_sale)}): {run['attempts']} attempts in "
              f"{run['wall_s']:.1f} s (the last unit sold after {run['selling_s']:.1f} s), "
              f"{len(run['orders'])} orders, {sold} of {SALE_UNITS} "
              f"units sold, {left} left in the shards; answers {run['answers']}")
    sharded, one_shard = runs["sharded"], runs["one shard"]
    return {
        "flash_sale_attempts_per_s": round(sharded["attempts"] / sharded["wall_s"], 1),
        "flash_sale_attempts_per_s_one_shard": round(one_shard["attempts"]
                                                     / one_shard["wall_s"], 1),
        "flash_sale_p50_ms": round(statistics.median(sharded["ms"]), 1),
        "flash_sale_p99_ms": round(statistics.quantiles(sharded["ms"], n=100,
                                                        method="inclusive")[98], 1),
        "flash_sale_orders_created": len(sharded["orders"]),
        "flash_sale_oversold_units": oversold,
    }


def run():
    from devtools.seed import seed_demo_brand

    with local_stack():
        seed_demo_brand()
        write_units, sold_out_units, hot_transactions, operations = _in_process()
        print("  flash_sale: DynamoDB calls per flash order: "
              + ", ".join(f"{op} {count:g}" for op, count in operations.items()))
        figures = _stampedes()
    return {
        "flash_sale_write_units_per_order": round(write_units, 1),
        "flash_sale_sold_out_write_units": round(sold_out_units, 1),
        "flash_sale_hot_item_transactions_per_order": round(hot_transactions, 2),
        **figures,
    }
