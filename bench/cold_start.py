"""What a Lambda cold start pays: importing the app, against importing the designated
libraries eagerly; and a fresh process's first order (importing the app and serving one
`POST /orders`), against that same eager import. Each sample is a fresh interpreter; the kinds
alternate so machine noise falls on all alike.

The first order is served as Lambda serves it: the handler `app.app` called with API Gateway's
event (chalice.test.Client would add its own import, about 0.3 s of Chalice's CLI, that a
Lambda never pays). The tables, the demo brand, the member and their session are made
beforehand by this process, on a DynamoDB Local and WeChat sandbox of its own."""
import json
import os
import statistics
import subprocess
import sys
import uuid
from datetime import datetime, timezone

from devtools.processes import ROOT

SAMPLES = 9
EAGER = "botocore.session, pynamodb.models, wechatpy, wechatpy.pay, aws_xray_sdk.core, chalice"

_TIMED_IMPORT = ("import time; started = time.perf_counter(); import {modules}; "
                 "print(time.perf_counter() - started)")

# Prints [seconds from before `import app` to the answer, [service of each botocore client
# made]]. Counting the clients imports botocore.client first: inside the timed part, since
# the order would import it anyway.
_TIMED_FIRST_ORDER = """
import json, sys, time, types
event = json.loads(sys.stdin.read())
context = types.SimpleNamespace(aws_request_id="cold-start", function_name="yutang-bench",
                                memory_limit_in_mb=512,
                                get_remaining_time_in_millis=lambda: 15_000)
started = time.perf_counter()
import botocore.client
made, make = [], botocore.client.ClientCreator.create_client
def counted(creator, service_name, *args, **kwargs):
    made.append(service_name)
    return make(creator, service_name, *args, **kwargs)
botocore.client.ClientCreator.create_client = counted
import app
answer = app.app(event, context)
elapsed = time.perf_counter() - started
assert answer["statusCode"] == 201, answer
print(json.dumps([elapsed, made]))
"""


def _import_seconds(modules):
    output = subprocess.run([sys.executable, "-c", _TIMED_IMPORT.format(modules=modules)],
                            cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return float(output.strip().splitlines()[-1])


def order_event(access_token, sku_id):
    """API Gateway's event for the member's `POST /orders` of one unit, for pickup."""
    from bench.checkout import STORE_ID

    body = {"store_id": STORE_ID, "items": [{"sku_id": sku_id, "quantity": 1}],
            "fulfilment": "pickup"}
    return {
        "resource": "/orders", "path": "/orders", "httpMethod": "POST",
        "headers": {"Authorization": f"Bearer {access_token}",
                    "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
        "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None, "body": json.dumps(body), "isBase64Encoded": False,
        "requestContext": {"resourcePath": "/orders", "httpMethod": "POST", "path": "/orders",
                           "stage": "api", "identity": {"sourceIp": "127.0.0.1"}},
    }


def _first_order(event):
    """(seconds, botocore clients made) of a fresh process's first order."""
    run = subprocess.run([sys.executable, "-c", _TIMED_FIRST_ORDER], input=json.dumps(event),
                         cwd=ROOT, env=dict(os.environ), capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"the first order failed:\n{run.stderr[-3000:]}")
    elapsed, made = json.loads(run.stdout.strip().splitlines()[-1])
    return elapsed, made


def returning_member(member_id):
    """A member who signed in before, their openid `bench-openid-<member_id>`: their access
    token."""
    from chalicelib.members import sessions
    from chalicelib.members.models import Member

    Member(member_id, openid=f"bench-openid-{member_id}",
           created_at=datetime.now(timezone.utc)).save()
    return sessions.start(member_id)["access_token"]


def run():
    from bench.checkout import STAGE_ENV, _sku
    from bench.members import local_stack
    from devtools.seed import seed_demo_brand

    app_times, eager_times, order_times, clients = [], [], [], []
    with local_stack():
        os.environ["WECHAT_MCH_KEY"] = STAGE_ENV["WECHAT_MCH_KEY"]  # the sandbox merchant's
        seed_demo_brand()
        sku_id = _sku("cold-start", SAMPLES)
        for n in range(SAMPLES):
            # A member each: a member may have only a few orders waiting for payment.
            access_token = returning_member(f"bench-cold-start-{n}")
            app_times.append(_import_seconds("app"))
            eager_times.append(_import_seconds(EAGER))
            elapsed, made = _first_order(order_event(access_token, sku_id))
            order_times.append(elapsed)
            clients.append(made)
    app_s, eager_s = statistics.median(app_times), statistics.median(eager_times)
    order_s = statistics.median(order_times)
    print(f"  cold_start: botocore clients of a first order: {clients[0]}")
    return {
        "cold_start_import_app_s": round(app_s, 4),
        "cold_start_import_eager_s": round(eager_s, 4),
        "cold_start_app_to_eager_ratio": round(app_s / eager_s, 3),
        "cold_start_first_order_s": round(order_s, 4),
        "cold_start_first_order_to_eager_ratio": round(order_s / eager_s, 3),
        "cold_start_first_order_tables_clients": max(map(len, clients)),
    }
