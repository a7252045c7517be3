"""Every route in the OpenAPI document, fuzzed from its own schemas against the app served
over HTTP: without a token, as a shopper, and as each kind of staff on routes they may call
(a brand admin, a store manager and a clerk of the demo store store-xintiandi, a guide), each
on data of their own (path parameters filled with their store, their order, their live
session...), so that the fuzz reaches each view's logic and not only "not found".

Never a 5xx, every 4xx in the error shape, every answer in its schema; and the inputs
fuzz_inputs.py mixes in (integral floats, deep nesting, forged cursors, WeChat's XML repeated
and nested, the persona's own ids in bodies) answered as they must be. A route added later is
fuzzed here without anyone remembering to."""
import contextlib
import json
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance)

from tests.api import fuzz_inputs
from tests.api.fuzz_inputs import SPECS
from tests.conftest import STORE_A, WeChatUser, new_staff, sign_in


@schemathesis.check
def refusals_have_the_error_shape(ctx, response, case):
    if 400 <= response.status_code < 500:
        error = response.json().get("error")
        assert isinstance(error, dict), f"4xx without an error object: {response.text[:200]}"
        assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str)


@schemathesis.check
def no_server_error(ctx, response, case):
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"


@schemathesis.check
def odd_input_is_answered_as_it_must_be(ctx, response, case):
    expected = fuzz_inputs.expectation(case)
    status = response.status_code
    if expected == fuzz_inputs.REFUSED_AT_THE_DOOR:
        # 415: the fuzz also sent a content type the route does not take
        assert status in (400, 401, 403, 413, 415), f"{status}: {response.text[:300]}"
        if status == 400:
            assert response.json()["error"]["code"] in ("validation_error", "invalid_json")
    elif expected == fuzz_inputs.NO_PAGE and status < 400:
        # Refused, or not read at all (a search by phone is one answer, without pages).
        without = _without_cursor(response.request)
        assert (without.status_code, without.json()) == (status, response.json()), \
            f"a forged cursor got {status}: {response.text[:300]}"
    elif expected == fuzz_inputs.NOTIFY_REFUSED:
        assert status == 200 and "<return_code><![CDATA[FAIL]]></return_code>" in \
            response.text, f"{status}: {response.text[:300]}"


def _without_cursor(request):
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    url = urlsplit(request.url)
    query = [(name, value) for name, value in parse_qsl(url.query, keep_blank_values=True)
             if name != "cursor"]
    return requests.request(request.method, urlunsplit(url._replace(query=urlencode(query))),
                            headers=dict(request.headers), data=request.body, timeout=20)


CHECKS = [no_server_error, refusals_have_the_error_shape, odd_input_is_answered_as_it_must_be,
          content_type_conformance, response_schema_conformance]


def _api(served_app, method, path, headers=None, body=None):
    answer = requests.request(method, f"{served_app}{path}", timeout=20,
                              headers={"Content-Type": "application/json", **(headers or {})},
                              data=None if body is None else json.dumps(body))
    assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
    return answer.json()


def _without_token(headers):
    return {name: value for name, value in (headers or {}).items()
            if name.lower() != "authorization"}


def _another_session(headers):
    """A second session of the same member, for the route that ends the one it is sent."""
    from chalicelib.core import tokens
    from chalicelib.members import sessions

    access_token = headers["Authorization"].partition(" ")[2]
    started = sessions.start(tokens.verify(access_token, tokens.ACCESS)["sub"])
    return {"Authorization": f"Bearer {started['access_token']}"}


class Persona:
    """Someone signed in, and their data: the value each path parameter takes (where a route
    needs another order or refund than the others, by path), and their ids, which the fuzz
    plants in body fields of the same name."""

    def __init__(self, served_app, headers, values, by_path=None, own=None, admin=False):
        self.served_app, self.headers, self.admin = served_app, headers, admin
        self.values, self.by_path, self.own = values, by_path or {}, own or {}

    def call(self, case):
        values = {**self.values, **self.by_path.get(case.path, {})}
        case.path_parameters = {name: values.get(name, generated)
                                for name, generated in (case.path_parameters or {}).items()}
        headers = self.headers if case.path != "/auth/logout" else _another_session(self.headers)
        case.headers = {**_without_token(case.headers), **headers}
        with self._brand_setting_kept(case):
            return case.call_and_validate(checks=CHECKS)

    @contextlib.contextmanager
    def _brand_setting_kept(self, case):
        """A brand-wide setting an admin changes (a PUT without an id, read at the same path)
        is put back as it was after each example, so that no other test meets what the fuzz
        made of it."""
        spec = SPECS.get((case.method.upper(), case.path))
        kept = self.admin and spec is not None and spec.method == "PUT" \
            and not spec.path_params and ("GET", spec.path) in SPECS
        before = _api(self.served_app, "GET", spec.path, self.headers) if kept else None
        try:
            yield
        finally:
            if kept:
                _api(self.served_app, "PUT", spec.path, self.headers, before)


def _schema(served_app, persona=None, **twists):
    schema = schemathesis.openapi.from_url(f"{served_app}/openapi.json")
    own = persona.own if persona else None
    schema.hook("flatmap_case")(lambda ctx, case: fuzz_inputs.twisted(case, own=own, **twists))
    return schema


# A shopper, and what the notify twists forge ---------------------------------------------

def _id(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def fuzz_shopper(served_app, local_services):
    """A shopper of store-xintiandi with a SKU and orders of their own: a paid one whose
    refund WeChat keeps processing (its refund notify is forged), an unpaid one (its pay
    notify is forged), another the fuzz's paths name, and genuine cursors of their order list
    (edited and spliced into forged ones)."""
    from tests.api.test_checkout import _sku
    from tests.api.test_payments import _order, _pay_in_wechat
    from tests.api.test_refunds import _hold, _refund_status

    sandbox_url = local_services["sandbox"]
    headers = {"Authorization": "Bearer " + _api(served_app, "POST", "/auth/login", body={
        "code": WeChatUser(_id("fuzz-member")).login_code()})["access_token"]}
    sku = _sku(price_fen=5_000, stock=10)

    def place():
        return _api(served_app, "POST", "/orders", {**headers, "Idempotency-Key": _id("k")},
                    {"store_id": STORE_A, "items": [{"sku_id": sku, "quantity": 1}]})

    paid = place()
    _api(served_app, "POST", f"/orders/{paid['order_id']}/pay", headers)
    _pay_in_wechat(sandbox_url, paid["order_id"])
    _hold(sandbox_url, f"{paid['order_id']}-r01")
    refund = _api(served_app, "POST", f"/orders/{paid['order_id']}/refund", headers,
                  {"reason": "fuzz"})
    forged, named = place(), place()
    first = _api(served_app, "GET", "/members/me/orders?limit=1", headers)["next_cursor"]
    second = _api(served_app, "GET", f"/members/me/orders?limit=1&cursor={first}",
                  headers)["next_cursor"]
    yield {"persona": Persona(served_app, headers, {"store_id": STORE_A, "sku_id": sku,
                                                    "order_id": named["order_id"]},
                              own={"store_id": STORE_A, "sku_id": sku}),
           "cursors": [first, second], "notifies": {"order": forged, "refund": refund}}

    assert _order(forged["order_id"]).status == "PENDING_PAYMENT"  # no forgery paid it
    assert _refund_status(paid["order_id"], refund["refund_id"]) == "PROCESSING"


@pytest.fixture(scope="module")
def api_schema(served_app, fuzz_shopper):
    return _schema(served_app, fuzz_shopper["persona"], genuine_cursors=fuzz_shopper["cursors"],
                   notifies=fuzz_shopper["notifies"])


schema = schemathesis.pytest.from_fixture("api_schema")
# Without a token every protected route answers 401 before reading its input: a few examples
# prove it. With one, the input is what is fuzzed.
# The same inputs on every run, so that `make test` passes or fails on the code alone;
# FUZZ_RANDOM=1 draws new ones (to look for what these miss).
_SAME_INPUTS = not os.environ.get("FUZZ_RANDOM")


def _fuzz(examples):
    return settings(max_examples=examples, deadline=None, derandomize=_SAME_INPUTS,
                    suppress_health_check=list(HealthCheck))


AT_THE_DOOR = _fuzz(8)
FUZZ = _fuzz(30)


@schema.parametrize()
@AT_THE_DOOR
def test_fuzz_without_a_token(case):
    case.headers = _without_token(case.headers)
    case.call_and_validate(checks=CHECKS)


def _staff_route(ctx):
    spec = SPECS.get((ctx.operation.method.upper(), ctx.operation.path))  # None: a method
    return spec is not None and spec.auth.kind == "staff"  # the route does not take


@schema.exclude(_staff_route).parametrize()
@FUZZ
def test_fuzz_as_a_shopper(case, fuzz_shopper):
    fuzz_shopper["persona"].call(case)


@pytest.fixture(scope="module")
def door_schema(served_app, fuzz_shopper):
    return _at_valid_input(_schema(served_app, fuzz_shopper["persona"],
                                   genuine_cursors=fuzz_shopper["cursors"]))


# A staff route refuses a shopper before it reads the input (tests/api/test_roles.py has
# each route's refusal), and its malformed input and unexpected methods are the fuzz's
# without a token: a few valid examples prove the door holds.
@schemathesis.pytest.from_fixture("door_schema").include(_staff_route).parametrize()
@AT_THE_DOOR
def test_fuzz_as_a_shopper_on_staff_routes(case, fuzz_shopper):
    response = fuzz_shopper["persona"].call(case)
    if case.method.upper() != "OPTIONS":  # a CORS preflight, answered to anyone
        assert response.status_code >= 400, \
            f"{case.method} {case.path}: a shopper got {response.status_code}"


# Staff, each on data of their own ---------------------------------------------------------

def _staff_record(member_id):
    from chalicelib.members.staff import staff_of

    return staff_of(member_id)


def _window(starts_in):
    now = datetime.now(timezone.utc)
    return {"starts_at": (now + starts_in).isoformat(),
            "ends_at": (now + starts_in + timedelta(hours=2)).isoformat()}


def _flash_sale(sku, by, stores):
    from chalicelib.promotions.flash import sales

    return sales.create({"name": "试验秒杀", "per_member_limit": 2, "stores": stores,
                         "items": [{"sku_id": sku, "flash_price_fen": 10_000, "quantity": 5}],
                         **_window(timedelta(hours=1))}, by).sale_id


def _live_session(sku, by, host_id, stores=None):
    from chalicelib.promotions.live import sessions

    return sessions.create({"title": "试验直播", "room": {"kind": "miniprogram_live",
                                                      "id": "room-fuzz"},
                            "lineup": [{"sku_id": sku, "live_price_fen": 10_000,
                                        "quantity": 5}],
                            **({"stores": stores} if stores else {}),
                            **_window(timedelta(minutes=30))}, by, host_id)


def _task(owner, member_id):
    from chalicelib.reactivation.models import Task

    task = Task(owner, f"t-{datetime.now(timezone.utc):%Y%m%d%H%M%S%f}", member_id=member_id,
                created_at=datetime.now(timezone.utc))
    task.save()
    return task.task_id


def _member_of(client, store_id, guide_id=None):
    """A fresh shopper whose home store is store_id (bound to guide_id)."""
    from chalicelib.members.models import Member

    headers, session = sign_in(client, WeChatUser(_id("fuzz-customer")))
    member_id = session["member"]["member_id"]
    Member(member_id).update(actions=[Member.home_store_id.set(store_id),
                                      *([Member.guide_id.set(guide_id)] if guide_id else [])])
    return headers, member_id


@pytest.fixture(scope="module")
def setup_client(served_app):
    from chalice.test import Client

    import app as yutang

    with Client(yutang.app, stage_name="test") as client:
        yield client


@pytest.fixture(scope="module")
def admin_persona(served_app, setup_client):
    """A brand admin with a store, a category, a product and its SKU, a member (a clerk of
    the store), a flash sale and a live session, and a granted coupon of their own."""
    from chalicelib.catalog import products, stock, stores
    from chalicelib.coupons import wallet as coupons
    from tests.api.test_flash_sales import brand_admin

    client = setup_client
    headers, _ = new_staff(client, "admin")
    store_id = _id("store-fuzz")
    stores.create_store({"store_id": store_id, "name": "鱼塘 试验店", "ownership": "franchise",
                         "city": "乌鲁木齐", "address": "试验路 1 号", "lat": 43.8, "lng": 87.6,
                         "opening_hours": "00:00-23:59"})
    category_id = products.save_category({"name": "试验", "sort_order": 99})["category_id"]
    product_id, sku = _id("p-fuzz"), _id("sku-fuzz")
    products.create_product({"product_id": product_id, "category_id": category_id,
                             "name": "试验茶", "skus": [{"sku_id": sku, "base_price_fen": 10_000}]})
    stock.set_quantity(store_id, sku, 50, "delivery", "test")
    _, clerk = new_staff(client, "clerk", store_id)
    _, host = new_staff(client, "guide", store_id)
    now = datetime.now(timezone.utc)
    coupon_id = coupons.create({
        "name": "试验券", "kind": "fixed", "amount_fen": 500, "total": 50, "store_id": store_id,
        "visibility": "granted", "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=30)).isoformat()})["coupon_id"]
    host_id = host["member"]["member_id"]
    values = {"store_id": store_id, "category_id": category_id, "product_id": product_id,
              "sku_id": sku, "member_id": clerk["member"]["member_id"], "tag": "vip",
              "sale_id": _flash_sale(sku, brand_admin(), [store_id]),
              "session_id": _live_session(sku, brand_admin(), host_id, [store_id]).session_id}
    own = {"store_id": store_id, "sku_id": sku, "product_id": product_id,
           "category_id": category_id, "coupon_id": coupon_id, "host_id": host_id}
    return Persona(served_app, headers, values, own=own, admin=True)


def _store_persona(served_app, sandbox_url, client, role):
    """A store_manager or clerk of store-xintiandi, with a SKU and a guide of the store, a
    shopper of the store with orders there (a paid pickup order, a paid delivery order, one
    handed over whose refund succeeded and whose goods are awaited back, one whose refund is
    stuck in CHANGE), the store's flash sale, a guide's live session waiting for approval
    and a task."""
    from chalicelib.orders import fulfilment, refunds
    from tests.api.test_checkout import _sku
    from tests.api.test_payments import _order
    from tests.api.test_refunds import ADDRESS, _hold, _paid, _settle_in_wechat, _settled

    headers, session = new_staff(client, role, STORE_A)
    manager_id = session["member"]["member_id"] if role == "store_manager" else \
        new_staff(client, "store_manager", STORE_A)[1]["member"]["member_id"]
    _, guide = new_staff(client, "guide", STORE_A)
    _, other_guide = new_staff(client, "guide", STORE_A)
    guide_id = guide["member"]["member_id"]
    shopper, member_id = _member_of(client, STORE_A, guide_id)
    sku = _sku(price_fen=10_000, stock=100)
    pickup = _paid(client, sandbox_url, shopper, sku, 3)["order_id"]
    delivery = _paid(client, sandbox_url, shopper, sku, 2, fulfilment="delivery",
                     address=ADDRESS)["order_id"]
    handed = _paid(client, sandbox_url, shopper, sku, 2)["order_id"]
    fulfilment.redeem(STORE_A, _order(handed).pickup_code, manager_id)
    returning = refunds.request(handed, {sku: 1}, "破损", manager_id).refund_id
    assert _settled(sandbox_url, handed, returning) == "SUCCESS"
    stuck = _paid(client, sandbox_url, shopper, sku, 1)["order_id"]
    _hold(sandbox_url, f"{stuck}-r01")
    stuck_refund = refunds.request(stuck, None, "破损", manager_id).refund_id
    _settle_in_wechat(sandbox_url, stuck_refund, "CHANGE")
    assert _settled(sandbox_url, stuck, stuck_refund) == "CHANGE"
    values = {"store_id": STORE_A, "sku_id": sku, "order_id": pickup, "guide_id": guide_id,
              "member_id": member_id, "tag": "vip",
              "sale_id": _flash_sale(sku, _staff_record(manager_id), [STORE_A]),
              "session_id": _live_session(sku, _staff_record(guide_id), guide_id).session_id,
              "task_id": _task(f"store#{STORE_A}", member_id)}
    order_path = "/stores/{store_id}/orders/{order_id}"
    by_path = {f"{order_path}/ship": {"order_id": delivery},
               f"{order_path}/deliver": {"order_id": delivery},
               f"{order_path}/refunds/{{refund_id}}/returned": {"order_id": handed,
                                                               "refund_id": returning},
               f"{order_path}/refunds/{{refund_id}}/resolution": {"order_id": stuck,
                                                                 "refund_id": stuck_refund}}
    own = {"store_id": STORE_A, "sku_id": sku, "code": _order(pickup).pickup_code,
           "to_guide_id": other_guide["member"]["member_id"]}
    return Persona(served_app, headers, values, by_path, own)


@pytest.fixture(scope="module")
def manager_persona(served_app, local_services, setup_client):
    return _store_persona(served_app, local_services["sandbox"], setup_client, "store_manager")


@pytest.fixture(scope="module")
def clerk_persona(served_app, local_services, setup_client):
    return _store_persona(served_app, local_services["sandbox"], setup_client, "clerk")


@pytest.fixture(scope="module")
def guide_persona(served_app, setup_client):
    """A guide of store-xintiandi with a customer of their own, a live session approved by
    the brand, a task, and a SKU."""
    from chalicelib.promotions.live import sessions
    from tests.api.test_checkout import _sku
    from tests.api.test_flash_sales import brand_admin

    headers, session = new_staff(setup_client, "guide", STORE_A)
    guide_id = session["member"]["member_id"]
    _, customer = _member_of(setup_client, STORE_A, guide_id)
    sku = _sku(price_fen=10_000, stock=50)
    live = _live_session(sku, _staff_record(guide_id), guide_id)
    sessions.decide(live, STORE_A, brand_admin(), True)
    values = {"store_id": STORE_A, "member_id": customer, "tag": "vip",
              "session_id": live.session_id, "task_id": _task(f"guide#{guide_id}", customer)}
    return Persona(served_app, headers, values, own={"store_id": STORE_A, "sku_id": sku})


def _at_valid_input(schema):
    """The schema's coverage phase held to the boundaries of valid input, without unexpected
    methods."""
    from schemathesis.generation.modes import GenerationMode

    coverage = schema.config.phases.coverage
    coverage.generation.modes, coverage.unexpected_methods = [GenerationMode.POSITIVE], set()
    return schema


def _staff_schema(served_app, fuzz_shopper, persona):
    # Malformed input meets one validator on every route, and unexpected methods the router,
    # before anything staff own: the shopper's fuzz and the fuzz without a token send both.
    # Staff get the boundaries of valid input, and the fuzzing phase.
    return _at_valid_input(_schema(served_app, persona, genuine_cursors=fuzz_shopper["cursors"]))


@pytest.fixture(scope="module")
def admin_schema(served_app, fuzz_shopper, admin_persona):
    return _staff_schema(served_app, fuzz_shopper, admin_persona)


@pytest.fixture(scope="module")
def manager_schema(served_app, fuzz_shopper, manager_persona):
    return _staff_schema(served_app, fuzz_shopper, manager_persona)


@pytest.fixture(scope="module")
def clerk_schema(served_app, fuzz_shopper, clerk_persona):
    return _staff_schema(served_app, fuzz_shopper, clerk_persona)


@pytest.fixture(scope="module")
def guide_schema(served_app, fuzz_shopper, guide_persona):
    return _staff_schema(served_app, fuzz_shopper, guide_persona)


def _for(role):
    """The routes fuzzed as `role`: a store route by the least of the store's roles it
    admits (the clerk, else the manager), brand routes by the admin, a guide's by the guide."""
    def admitted(ctx):
        access = SPECS[(ctx.operation.method.upper(), ctx.operation.path)].auth
        if access.kind != "staff":
            return False
        if role == "admin":
            return access.roles == ("admin",)
        if role == "store_manager":
            return "store_manager" in access.roles and "clerk" not in access.roles
        return role in access.roles

    return admitted


AS_STAFF = _fuzz(20)


@schemathesis.pytest.from_fixture("admin_schema").include(_for("admin")).parametrize()
@AS_STAFF
def test_fuzz_as_an_admin(case, admin_persona):
    admin_persona.call(case)


@schemathesis.pytest.from_fixture("manager_schema").include(_for("store_manager")).parametrize()
@AS_STAFF
def test_fuzz_as_a_store_manager(case, manager_persona):
    manager_persona.call(case)


@schemathesis.pytest.from_fixture("clerk_schema").include(_for("clerk")).parametrize()
@AS_STAFF
def test_fuzz_as_a_clerk(case, clerk_persona):
    clerk_persona.call(case)


@schemathesis.pytest.from_fixture("guide_schema").include(_for("guide")).parametrize()
@AS_STAFF
def test_fuzz_as_a_guide(case, guide_persona):
    guide_persona.call(case)
