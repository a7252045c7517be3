"""Checkout: what one paid order costs in DynamoDB, and 100 shoppers racing for one hot SKU.

In process: a returning member places an order (`POST /orders` through chalice.test.Client,
pickup, one SKU) and WeChat's payment notify for it is processed (`payments.on_notify` with a
notify signed as WeChat signs it), with every subscriber of the payment (the orders stream's
delivery, as Lambda makes it: devtools/streams.py drain; the retail figures, fed in batches of
many orders by a function of their own, are bench/reports.py's); then the same for
members bound to a guide whom another guide recruited (two commissions), and WeChat repeating
each notify. Every DynamoDB call in between is counted, and its write units weighed as AWS
bills them (bench/billing.py).

Over HTTP: `chalice local` (its own process, 127.0.0.1) in front of the same DynamoDB Local.
100 shoppers, each signed in through `POST /auth/login` with a connection of their own, keep
ordering 1 unit of a SKU that has 300 until they are told it is sold out (at most 5 attempts
each, so 500 units are wanted). Afterwards the orders they got and the stock item must agree.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone

from bench.billing import by_table, metering_dynamodb, written
from bench.members import local_stack
from devtools import processes
from devtools.processes import ROOT

STORE_ID = "store-xintiandi"  # a demo store that offers pickup
MEASURED_ORDERS = 20
SHOPPERS, HOT_STOCK, ATTEMPTS_PER_SHOPPER = 100, 300, 5
STAGE_ENV = json.loads((ROOT / ".chalice/config.json").read_text())["stages"]["local"][
    "environment_variables"]


def _sku(name, stock):
    from chalicelib.catalog import products
    from chalicelib.catalog import stock as store_stock

    sku_id = f"sku-bench-{name}"
    products.create_product({"product_id": f"p-bench-{name}", "category_id": "cat-tea",
                             "name": f"bench {name}",
                             "skus": [{"sku_id": sku_id, "base_price_fen": 2_000}]})
    store_stock.set_quantity(STORE_ID, sku_id, stock, "delivery", "bench")
    return sku_id


def bench_admin():
    """The brand admin the scenarios create their promotions as."""
    from chalicelib.members.models import Staff

    return Staff("bench", role="admin")


def _signed_notify(order):
    """WeChat's payment notify for the order, signed (MD5) with the merchant key."""
    from wechatpy.pay.utils import calculate_signature

    from chalicelib.config import settings

    fields = {"appid": settings.wechat_app_id, "mch_id": settings.wechat_mch_id,
              "nonce_str": uuid.uuid4().hex, "return_code": "SUCCESS",
              "result_code": "SUCCESS", "openid": order["openid"], "trade_type": "JSAPI",
              "total_fee": str(order["total_fen"]), "fee_type": "CNY",
              "out_trade_no": order["order_id"], "transaction_id": uuid.uuid4().hex[:28],
              "time_end": "20260101120000", "bank_type": "OTHERS",
              "cash_fee": str(order["total_fen"])}
    fields["sign"] = calculate_signature(fields, settings.wechat_mch_key)
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"


def _place(client, access_token, sku_id):
    """POST /orders for one unit: the order as placed."""
    headers = {"Authorization": f"Bearer {access_token}",
               "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    request = {"store_id": STORE_ID, "items": [{"sku_id": sku_id, "quantity": 1}],
               "fulfilment": "pickup"}
    placed = client.http.post("/orders", headers=headers, body=json.dumps(request))
    assert placed.status_code == 201, placed.body
    return json.loads(placed.body)


def _notify(member_id, order, notify=None):
    """WeChat's payment notify for the order (a repeat of `notify` when given); the notify."""
    from chalicelib.orders import payments
    from devtools import streams

    notify = notify or _signed_notify({**order, "openid": f"bench-openid-{member_id}"})
    answer = payments.on_notify(notify)
    assert "SUCCESS" in answer, answer
    # The payment's subscribers, from the orders stream. The figures' own function reads it
    # in batches of many orders (bench/reports.py measures what an order costs there).
    streams.drain(skip=("figures-stream",))
    return notify


def _members(prefix, guide_id=None):
    """MEASURED_ORDERS members who have signed in, bound to the guide if one is given."""
    from chalicelib.members import sessions
    from chalicelib.members.models import Member

    members = [f"bench-{prefix}-{n}" for n in range(MEASURED_ORDERS)]
    for member_id in members:
        Member(member_id, openid=f"bench-openid-{member_id}", guide_id=guide_id,
               guide_served_at=datetime.now(timezone.utc) if guide_id else None,
               created_at=datetime.now(timezone.utc)).save()
    return {member_id: sessions.start(member_id)["access_token"] for member_id in members}


def _two_tier_guide():
    """A guide of the store who was recruited by another guide: both earn on a sale."""
    from chalicelib.members.models import Member, Staff

    now = datetime.now(timezone.utc)
    for guide_id, recruiter in (("bench-recruiter", None), ("bench-guide", "bench-recruiter")):
        Member(guide_id, openid=f"bench-openid-{guide_id}", created_at=now).save()
        Staff(guide_id, role="guide", store_id=STORE_ID, invited_by=recruiter,
              joined_at=now).save()
    return "bench-guide"


def _paid_orders(client, signed_in, sku_id):
    """Each member places an order and pays it (after a first, unmetered one each, so they
    have ordered before); the measured: (calls per order, the notify of each order)."""
    from chalicelib.orders.models import Order

    for member_id, token in signed_in.items():
        _notify(member_id, _place(client, token, sku_id))
    measured, notifies = [], []
    for member_id, token in signed_in.items():
        with metering_dynamodb() as calls:
            order = _place(client, token, sku_id)
            notifies.append((member_id, order, _notify(member_id, order)))
        assert Order.get(order["order_id"]).status == "PAID"
        measured.append(calls)
    return measured, notifies


def _per_order(measured):
    """(requests, write units, {operation: calls}, {table: write units}) per order, mean."""
    operations, tables = {}, {}
    for calls in measured:
        for operation, *_ in calls:
            operations[operation] = operations.get(operation, 0) + 1
        for table, spent in by_table(calls).items():
            tables[table] = tables.get(table, 0) + spent
    count = len(measured)
    return (statistics.mean(map(len, measured)), statistics.mean(map(written, measured)),
            {op: n / count for op, n in sorted(operations.items())},
            {table: spent / count for table, spent in tables.items()})


def _one_paid_order():
    """What a paid order costs a returning member: without a guide, with a two-tier guide,
    and what WeChat repeating the notify of an order already paid costs."""
    from chalice.test import Client

    import app as yutang

    sku_id = _sku("measured", 10 * MEASURED_ORDERS)
    alone, guided = _members("buyer"), _members("guided", guide_id=_two_tier_guide())
    with Client(yutang.app) as client:
        measured, notifies = _paid_orders(client, alone, sku_id)
        measured_guided, _ = _paid_orders(client, guided, sku_id)
    repeats = []
    for member_id, order, notify in notifies:
        with metering_dynamodb() as calls:
            _notify(member_id, order, notify)
        repeats.append(calls)
    return _per_order(measured), _per_order(measured_guided), _per_order(repeats)


def _printed(what, figures):
    requests_made, write_units, operations, tables = figures
    print(f"  checkout: {what}: {requests_made:g} requests, {write_units:g} write units; "
          + ", ".join(f"{op} {count:g}" for op, count in operations.items()) + "; by table: "
          + ", ".join(f"{table} {spent:g}"
                      for table, spent in tables.items()))


@contextmanager
def _chalice_local():
    """`chalice local` on a free port of 127.0.0.1, on this process's DynamoDB Local."""
    port = processes.free_port()
    chalice_cli = os.path.join(os.path.dirname(sys.executable), "chalice")
    with tempfile.TemporaryFile() as errors:
        server = subprocess.Popen([chalice_cli, "local", "--stage", "local", "--host",
                                   "127.0.0.1", "--port", str(port), "--no-autoreload"],
                                  cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL,
                                  stderr=errors)
        try:
            processes.wait_for_port(port, server, "chalice local")
            yield f"http://127.0.0.1:{port}"
        except BaseException:
            errors.seek(0)
            print(errors.read().decode(errors="replace")[-3000:])
            raise
        finally:
            processes.stop([server])


def _signed_in(base_url, name):
    """A shopper's own connection, signed in as a WeChat user of their own."""
    import requests

    session = requests.Session()
    answer = session.post(f"{base_url}/auth/login", json={"code": f"sandbox:{name}:1"},
                          timeout=60)
    answer.raise_for_status()
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return session


def _shopper(session, base_url, sku_id, start, outcome):
    """Orders 1 unit at a time, a fresh Idempotency-Key each, until told it is sold out."""
    import requests

    request = {"store_id": STORE_ID, "items": [{"sku_id": sku_id, "quantity": 1}],
               "fulfilment": "pickup"}
    if start is not None:
        start.wait()
    for _ in range(ATTEMPTS_PER_SHOPPER):
        began = time.perf_counter()
        try:
            answer = session.post(f"{base_url}/orders", json=request, timeout=120,
                                  headers={"Idempotency-Key": uuid.uuid4().hex})
        except requests.ConnectionError:
            outcome["refusals"]["connection_error"] = \
                outcome["refusals"].get("connection_error", 0) + 1
            continue
        outcome["ms"].append((time.perf_counter() - began) * 1000)
        if answer.status_code == 201:
            order = answer.json()
            outcome["orders"].append(order["order_id"])
            outcome["units"] += sum(line["quantity"] for line in order["breakdown"]["lines"]
                                    if line["sku_id"] == sku_id)
            continue
        code = answer.json().get("error", {}).get("code", str(answer.status_code))
        outcome["refusals"][code] = outcome["refusals"].get(code, 0) + 1
        if code == "insufficient_stock":
            break


def _rush():
    """100 shoppers through `chalice local` for HOT_STOCK units of one SKU."""
    from chalicelib.catalog.models import StoreStock
    from chalicelib.orders.models import Order

    sku_id = _sku("hot", HOT_STOCK)
    warm_up = _sku("warm-up", 10)
    started = {}
    start = threading.Barrier(SHOPPERS + 1, action=lambda: started.setdefault(
        "at", time.perf_counter()))
    outcomes = [{"ms": [], "orders": [], "units": 0, "refusals": {}} for _ in range(SHOPPERS)]
    with _chalice_local() as base_url:
        # One order first, outside the figures: the server imports checkout on first use.
        warm_up_shopper = {"ms": [], "orders": [], "units": 0, "refusals": {}}
        with _signed_in(base_url, "bench-warm-up") as session:
            _shopper(session, base_url, warm_up, None, warm_up_shopper)
        assert warm_up_shopper["orders"], warm_up_shopper
        # Signed in one after another: `chalice local` listens with a backlog of 5, and its
        # connections are kept alive, so the rush itself opens none.
        sessions = [_signed_in(base_url, f"bench-shopper-{n}") for n in range(SHOPPERS)]
        shoppers = [threading.Thread(target=_shopper, args=(sessions[n], base_url, sku_id,
                                                            start, outcomes[n]))
                    for n in range(SHOPPERS)]
        for shopper in shoppers:
            shopper.start()
        start.wait(timeout=120)
        for shopper in shoppers:
            shopper.join()
        wall_s = time.perf_counter() - started["at"]
        for session in sessions:
            session.close()

    order_ids = [order_id for outcome in outcomes for order_id in outcome["orders"]]
    units = sum(outcome["units"] for outcome in outcomes)
    in_db = list(Order.batch_get(order_ids))  # every order a shopper was given exists
    assert len(in_db) == len(order_ids) == len(set(order_ids)), (len(in_db), len(order_ids))
    units_in_db = sum(line["quantity"] for order in in_db for line in order.breakdown["lines"]
                      if line["sku_id"] == sku_id)
    left = StoreStock.get(STORE_ID, sku_id, consistent_read=True).quantity
    if units_in_db != units or left != HOT_STOCK - units:
        print(f"  checkout: stock does not add up: {units} units ordered ({units_in_db} in the "
              f"orders' lines), {left} left of {HOT_STOCK}")
    refusals = {}
    for outcome in outcomes:
        for code, count in outcome["refusals"].items():
            refusals[code] = refusals.get(code, 0) + count
    timings = [ms for outcome in outcomes for ms in outcome["ms"]]
    print(f"  checkout: {len(order_ids)} orders, {units} units of {HOT_STOCK} in stock "
          f"({left} left); refusals {refusals}; {len(timings)} attempts in {wall_s:.1f} s")
    return {
        "checkout_orders_per_s": round(len(order_ids) / wall_s, 1),
        "checkout_p50_ms": round(statistics.median(timings), 1),
        "checkout_p99_ms": round(statistics.quantiles(timings, n=100, method="inclusive")[98],
                                 1),
        "checkout_oversold_units": max(0, max(units, units_in_db) - HOT_STOCK) + max(0, -left),
    }


def costs():
    """`python -m bench.checkout`: the cost of a paid order only (no rush), printed."""
    from devtools.seed import seed_demo_brand

    with local_stack():
        os.environ["WECHAT_MCH_KEY"] = STAGE_ENV["WECHAT_MCH_KEY"]
        seed_demo_brand()
        alone, guided, repeat = _one_paid_order()
    for what, figures in (("paid order", alone), ("paid order, two-tier guide", guided),
                          ("notify repeated", repeat)):
        _printed(what, figures)


def run():
    from devtools.seed import seed_demo_brand

    with local_stack():
        os.environ["WECHAT_MCH_KEY"] = STAGE_ENV["WECHAT_MCH_KEY"]  # the sandbox merchant's
        seed_demo_brand()
        alone, guided, repeat = _one_paid_order()
        for what, figures in (("paid order", alone), ("paid order, two-tier guide", guided),
                              ("notify repeated", repeat)):
            _printed(what, figures)
        figures = _rush()
    return {
        "checkout_dynamodb_requests_per_order": round(alone[0], 1),
        "checkout_write_units_per_paid_order": round(alone[1], 1),
        "checkout_dynamodb_requests_per_order_guided": round(guided[0], 1),
        "checkout_write_units_per_paid_order_guided": round(guided[1], 1),
        "checkout_repeat_notify_requests": round(repeat[0], 1),
        "checkout_repeat_notify_write_units": round(repeat[1], 1),
        **figures,
    }


if __name__ == "__main__":
    costs()
