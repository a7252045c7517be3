"""Checkout's handlers in Python time: what a warm process spends of its own on a returning
member's `POST /orders` (the handler `app.app` called with API Gateway's event, as Lambda calls
it) and on WeChat's payment notify of that order (`payments.on_notify`), DynamoDB's wait
excluded: the wall time minus the time spent inside botocore sending each request and
receiving its answer. Runs on its own DynamoDB Local and WeChat sandbox."""
import json
import os
import statistics
import time
import types
from contextlib import contextmanager

MEMBERS = 30
_CONTEXT = types.SimpleNamespace(aws_request_id="bench-handler", function_name="yutang-bench",
                                 memory_limit_in_mb=512,
                                 get_remaining_time_in_millis=lambda: 15_000)


@contextmanager
def timing_dynamodb_waits():
    """A list that gets the seconds of each HTTP exchange botocore has inside the block."""
    from botocore.endpoint import Endpoint

    original = Endpoint._send
    waits = []

    def timed(endpoint, request):
        started = time.perf_counter()
        try:
            return original(endpoint, request)
        finally:
            waits.append(time.perf_counter() - started)

    Endpoint._send = timed
    try:
        yield waits
    finally:
        Endpoint._send = original


def _python_ms(call):
    """(what call() returned, its milliseconds outside botocore's HTTP exchanges)."""
    with timing_dynamodb_waits() as waits:
        started = time.perf_counter()
        result = call()
        wall_s = time.perf_counter() - started
    return result, (wall_s - sum(waits)) * 1000


def _checkout(yutang, member_id, access_token, sku_id):
    """(order's Python ms, notify's Python ms) of one paid order."""
    from bench.checkout import _signed_notify
    from bench.cold_start import order_event
    from chalicelib.orders import payments

    placed, order_ms = _python_ms(lambda: yutang.app(order_event(access_token, sku_id),
                                                     _CONTEXT))
    assert placed["statusCode"] == 201, placed
    order = json.loads(placed["body"])
    notify = _signed_notify({**order, "openid": f"bench-openid-{member_id}"})
    answer, notify_ms = _python_ms(lambda: payments.on_notify(notify))
    assert "SUCCESS" in answer, answer
    return order_ms, notify_ms


def run():
    import app as yutang
    from bench.checkout import STAGE_ENV, _sku
    from bench.cold_start import returning_member
    from bench.members import local_stack
    from devtools.seed import seed_demo_brand

    with local_stack():
        os.environ["WECHAT_MCH_KEY"] = STAGE_ENV["WECHAT_MCH_KEY"]  # the sandbox merchant's
        seed_demo_brand()
        sku_id = _sku("handler", 2 * MEMBERS)
        members = {member_id: returning_member(member_id)
                   for member_id in (f"bench-handler-{n}" for n in range(MEMBERS))}
        # A first paid order each, not measured: the members have ordered before, and the
        # process has imported and made what a warm Lambda has.
        for member_id, token in members.items():
            _checkout(yutang, member_id, token, sku_id)
        measured = [_checkout(yutang, member_id, token, sku_id)
                    for member_id, token in members.items()]
    order_ms = statistics.median(order for order, _ in measured)
    notify_ms = statistics.median(notify for _, notify in measured)
    print(f"  handler: Python ms of an order {order_ms:.1f}, of its notify {notify_ms:.1f} "
          f"(medians of {MEMBERS})")
    return {
        "checkout_handler_python_ms": round(statistics.median(
            order + notify for order, notify in measured), 1),
        "checkout_handler_order_python_ms": round(order_ms, 1),
        "checkout_handler_notify_python_ms": round(notify_ms, 1),
    }
