"""Live: a live burst, when the host says "上链接" and a room's viewers all buy at once.

Over HTTP: `chalice local` (its own process, 127.0.0.1) in front of DynamoDB Local. A
session of one store is LIVE with one product of 200 live-only units in 8 shards (planned
for 6,400 orders a second; its units were moved out of regular stock when it went live).
200 viewers, each signed in with a connection of their own, enter the session one after
another (`POST /live-sessions/{id}/enter`: each gets a live token of their own, and counts
as a viewer), wait at a start line, then make 5 attempts each, 1,000 in all, at
`POST /live-sessions/{id}/orders` with their token and a fresh Idempotency-Key per attempt,
going on after it is sold out. Afterwards the shards (consistent reads) and the session's
orders in the table must account for every unit exactly: `live_oversold_units` must be 0.

As in the flash-sale scenario, DynamoDB Local has no per-item write limit and one `chalice
local` process serves every request, so the latencies are mostly its queue.
"""
import statistics
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from bench.checkout import STORE_ID, _chalice_local, _signed_in, _sku, bench_admin
from bench.flash_sale import _shopper
from bench.members import local_stack

VIEWERS, ATTEMPTS_PER_VIEWER = 200, 5
LIVE_UNITS, PEAK_PER_S = 200, 6_400  # 8 shards
WARM_UP_UNITS = 5
LIVE_PRICE_FEN = 1_290
HOST_ID = "bench-live-host"


def _host():
    """A guide of STORE_ID, to host the sessions."""
    from chalicelib.members.models import Member, Staff

    now = datetime.now(timezone.utc)
    Member(HOST_ID, openid=f"bench-openid-{HOST_ID}", nickname="主播", created_at=now).save()
    Staff(HOST_ID, role="guide", store_id=STORE_ID, name="主播", joined_at=now).save()
    return HOST_ID


def _live_session(name, units):
    """A session of one new SKU in STORE_ID that went live a minute ago, its units in its
    shards (regular stock holds 100 more than it took): (session, sku_id)."""
    from chalicelib.catalog.stock import current
    from chalicelib.promotions.live import sessions

    sku_id = _sku(name, units + 100)
    now = datetime.now(timezone.utc)
    session = sessions.create({"title": f"bench {name}",
                               "room": {"kind": "miniprogram_live", "id": f"bench-{name}"},
                               "lineup": [{"sku_id": sku_id, "live_price_fen": LIVE_PRICE_FEN,
                                           "quantity": units}],
                               "starts_at": (now - timedelta(minutes=1)).isoformat(),
                               "ends_at": (now + timedelta(hours=1)).isoformat(),
                               "expected_peak_per_s": PEAK_PER_S}, bench_admin(), HOST_ID)
    session = sessions.start(session)
    assert session.status == "LIVE" and session.stocked == {sku_id: units}, session.stocked
    assert current(STORE_ID, sku_id) == 100
    return session, sku_id


def _entered(http, base_url, session):
    answer = http.post(f"{base_url}/live-sessions/{session.session_id}/enter", timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()["live_token"]


def _burst(base_url, viewers, session, sku_id):
    """Every viewer's attempts at once: attempts, wall seconds, latencies in ms, {answer:
    count}, order ids given, units in them."""
    url = f"{base_url}/live-sessions/{session.session_id}/orders"
    started = {}
    start = threading.Barrier(len(viewers) + 1, action=lambda: started.setdefault(
        "at", time.perf_counter()))
    outcomes = [{"ms": [], "orders": [], "units": 0, "answers": {}} for _ in viewers]
    threads = [threading.Thread(target=_shopper, args=(
        http, url, {"store_id": STORE_ID, "sku_id": sku_id, "quantity": 1,
                    "live_token": token}, sku_id, ATTEMPTS_PER_VIEWER, start, outcome))
        for (http, token), outcome in zip(viewers, outcomes)]
    for thread in threads:
        thread.start()
    start.wait(timeout=120)
    for thread in threads:
        thread.join()
    wall_s = time.perf_counter() - started["at"]
    answers = {}
    for outcome in outcomes:
        for code, count in outcome["answers"].items():
            answers[code] = answers.get(code, 0) + count
    return {"attempts": sum(answers.values()), "wall_s": wall_s,
            "ms": [ms for outcome in outcomes for ms in outcome["ms"]], "answers": answers,
            "orders": [order_id for outcome in outcomes for order_id in outcome["orders"]],
            "units": sum(outcome["units"] for outcome in outcomes)}


def _oversold(session, sku_id, run):
    """Units sold beyond the live quantity, and shards below zero, from DynamoDB (consistent
    reads): the orders the viewers were given, and every order of the session in the table
    (a Scan: this is a benchmark's check, never a request path). Whatever else does not add
    up is printed."""
    from chalicelib.orders.models import Order
    from chalicelib.promotions.hotstock import StockShard

    quantity = session.lineup[0]["quantity"]
    shards = list(StockShard.query(f"{session.session_id}#{sku_id}", consistent_read=True))
    given = list(Order.batch_get(run["orders"]))
    in_table = list(Order.scan(Order.live_session_id == session.session_id,
                               consistent_read=True))
    units_given = sum(line["quantity"] for order in given for line in order.breakdown["lines"])
    units_in_table = sum(line["quantity"] for order in in_table
                         for line in order.breakdown["lines"])
    sold = max(run["units"], units_given, units_in_table)
    left = sum(shard.remaining for shard in shards)
    oversold = max(0, sold - quantity) + sum(max(0, -shard.remaining) for shard in shards)
    odd = []
    if len(shards) != session.shard_count:
        odd.append(f"{len(shards)} shard items for {session.shard_count} shards")
    if not (len(given) == len(run["orders"]) == len(set(run["orders"])) == len(in_table)):
        odd.append(f"{len(run['orders'])} orders given ({len(set(run['orders']))} distinct, "
                   f"{len(given)} found), {len(in_table)} of the session in the table")
    if not run["units"] == units_given == units_in_table:
        odd.append(f"units: {run['units']} answered, {units_given} in the orders given, "
                   f"{units_in_table} in the session's orders")
    if left != quantity - sold:
        odd.append(f"shards hold {left}, quantity {quantity} - sold {sold}")
    wrong = [order.order_id for order in in_table
             if (order.channel, order.guide_id, order.total_fen) != ("live", HOST_ID,
                                                                     LIVE_PRICE_FEN)]
    if wrong:
        odd.append(f"orders not at the live price for the host: {wrong[:5]}")
    unexpected = {code: count for code, count in run["answers"].items()
                  if code not in ("201", "409 sold_out")}
    if unexpected:
        odd.append(f"unexpected answers: {unexpected}")
    for line in odd:
        print(f"  live: {line}")
    return oversold, sold, left


def _live_burst():
    from chalicelib.promotions.live.models import LiveFigures

    _host()
    session, sku_id = _live_session("live-hot", LIVE_UNITS)
    warm_up, warm_up_sku = _live_session("live-warm-up", WARM_UP_UNITS)
    assert session.shard_count == 8, session.shard_count
    with _chalice_local() as base_url:
        # One purchase first, outside the figures: the server imports the live code on first
        # use. Then the viewers sign in and enter one after another (`chalice local` listens
        # with a backlog of 5; their connections are kept alive, so the burst opens none).
        with _signed_in(base_url, "bench-live-warm-up") as http:
            answer = http.post(f"{base_url}/live-sessions/{warm_up.session_id}/orders",
                               json={"store_id": STORE_ID, "sku_id": warm_up_sku,
                                     "quantity": 1,
                                     "live_token": _entered(http, base_url, warm_up)},
                               headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=60)
            assert answer.status_code == 201, answer.text
        viewers = []
        try:
            for n in range(VIEWERS):
                http = _signed_in(base_url, f"bench-live-viewer-{n}")
                viewers.append((http, _entered(http, base_url, session)))
            run = _burst(base_url, viewers, session, sku_id)
        finally:
            for http, _ in viewers:
                http.close()

    oversold, sold, left = _oversold(session, sku_id, run)
    viewers_counted = LiveFigures.get(session.session_id, consistent_read=True).viewers
    print(f"  live: {run['attempts']} attempts by {VIEWERS} viewers ({viewers_counted} "
          f"counted) in {run['wall_s']:.1f} s, {len(run['orders'])} orders, {sold} of "
          f"{LIVE_UNITS} units sold, {left} left in the shards; answers {run['answers']}")
    return {
        "live_attempts_per_s": round(run["attempts"] / run["wall_s"], 1),
        "live_p50_ms": round(statistics.median(run["ms"]), 1),
        "live_p99_ms": round(statistics.quantiles(run["ms"], n=100, method="inclusive")[98],
                             1),
        "live_orders_created": len(run["orders"]),
        "live_oversold_units": oversold,
    }


def run():
    from devtools.seed import seed_demo_brand

    with local_stack():
        seed_demo_brand()
        return _live_burst()
