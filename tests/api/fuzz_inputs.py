"""What the fuzz (test_fuzz.py) mixes into the cases schemathesis draws from the OpenAPI
document: inputs the schemas let through or that schemathesis never makes, each with what the
app must answer to it.

- integral floats (1.0, 1e2, -0.0) where an integer is asked for: refused before the view;
- JSON nested deeper than any request (33 levels, and beyond the parser's recursion): refused
  before the view;
- a cursor that decodes but is not one the API gave out for that list (made up, edited, or
  another list's signature): refused, or not read at all;
- WeChat-shaped XML for the two notify routes, all of it refused: genuine notifies of a real
  order or refund with elements repeated, nested, given attributes or loose text, documents
  of WeChat's field names in any shape, flat ones of any values signed with the merchant key
  (the refund notify's req_info encrypted with it);
- the persona's own ids (its store, SKU, order...) planted in body fields of the same name, so
  that a body reaches past "not found".

A twist is drawn for about half the cases it applies to; `expectation(case)` says what the app
must answer to the twisted case (None: only the checks every case has)."""
import base64
import hashlib
import json
import re
import uuid
from xml.sax.saxutils import escape

from hypothesis import strategies as st

import app  # noqa: F401  (declares every route)
from chalicelib.api.routing import ROUTES
from tests.conftest import TEST_ENVIRONMENT

SPECS = {(spec.method, spec.path): spec for spec in ROUTES}
PAY_NOTIFY, REFUND_NOTIFY = "/wechat/pay/notify", "/wechat/pay/refund-notify"
MCH_KEY = TEST_ENVIRONMENT["WECHAT_MCH_KEY"]

REFUSED_AT_THE_DOOR = "refused before the view"  # 400 (or 401/403/413/415 at the door first)
NO_PAGE = "no page"  # any 4xx
NOTIFY_REFUSED = "notify refused"  # answered in XML, return_code FAIL
_EXPECTED = {}  # case.id -> one of the above


def expectation(case):
    return _EXPECTED.get(case.id)


def _expect(case, what):
    if what:
        _EXPECTED[case.id] = what
    return case


# Raw JSON text ----------------------------------------------------------------------------

_SENTINEL = "\u0000twist\u0000"


def _put(value, path, new):
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    holder = copy
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = new
    return copy


def _raw_json(body, path, raw_text):
    """The body as JSON text, with raw_text (any JSON spelling) at path."""
    return json.dumps(_put(body, path, _SENTINEL)).replace(json.dumps(_SENTINEL),
                                                           raw_text).encode()


def _integer_paths(schema, value, path=()):
    """Where the value holds an int that its schema asks to be an integer."""
    if not isinstance(schema, dict) or isinstance(value, bool):
        return set()
    found = set()
    for branch in (*schema.get("oneOf", ()), *schema.get("anyOf", ()), *schema.get("allOf", ())):
        found |= _integer_paths(branch, value, path)
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if isinstance(value, int):
        if "integer" in kinds and "number" not in kinds:
            found.add(path)
    elif isinstance(value, dict):
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            found |= _integer_paths(schema.get("properties", {}).get(name, extra), item,
                                    (*path, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found |= _integer_paths(schema.get("items"), item, (*path, index))
    return found


def _at(value, path):
    for step in path:
        value = value[step]
    return value


def _integral_floats(value):
    """How JSON can spell an integer as a number with a fraction or an exponent."""
    spellings = [f"{value}.0", f"{value}e0", f"{value}E+00", f"{value * 10}e-1"]
    if value == 0:
        spellings += ["-0.0", "0e5", "-0E0"]
    if value and value % 100 == 0:
        spellings.append(f"{value // 100}e2")
    return st.sampled_from(spellings)


def integral_float(case, spec):
    paths = sorted(_integer_paths(spec.body, case.body), key=str)
    if not paths:
        return None
    return st.sampled_from(paths).flatmap(
        lambda path: _integral_floats(_at(case.body, path)).map(
            lambda spelling: _with_body(case, _raw_json(case.body, path, spelling),
                                        REFUSED_AT_THE_DOOR)))


def _places(value, path=()):
    yield path
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _places(item, (*path, name))


def deep_nesting(case, spec):
    if case.body is None or not isinstance(case.body, (dict, list)):
        return None
    shapes = st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"a":[', "]}")])
    return st.tuples(st.sampled_from(list(_places(case.body))), shapes,
                     st.sampled_from([33, 64, 2_000])).map(
        lambda t: _with_body(case, _raw_json(
            case.body, t[0], t[1][0] * t[2] + ("0" if t[1][0].endswith(":") else "")
            + t[1][1] * t[2]), REFUSED_AT_THE_DOOR))


def _with_body(case, body, what):
    case.body = body
    return _expect(case, what)


# Cursors ----------------------------------------------------------------------------------

def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3), max_leaves=8)
_KEY_NAMES = ["order_id", "member_id", "created_key", "store_day", "seq", "owner", "task_id",
              "sku_id", "store_id", "guide_id", "session_id", "starts_key", "at_key"]
_DYNAMODB_KEYS = st.dictionaries(
    st.sampled_from(_KEY_NAMES),
    st.one_of(st.text(max_size=30).map(lambda text: {"S": text}),
              st.integers().map(lambda number: {"N": str(number)}),
              st.text(max_size=8).map(lambda text: {"N": text}), _JSON_VALUES),
    min_size=1, max_size=4)
_SIGNATURES = st.one_of(st.just(""), st.binary(min_size=32, max_size=32).map(_b64),
                        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                                max_size=60))
_MADE_UP = st.builds(lambda key, signature: f"{key}.{signature}" if signature else key,
                     st.one_of(_JSON_VALUES, _DYNAMODB_KEYS).map(
                         lambda key: _b64(json.dumps(key).encode())), _SIGNATURES)


def _edited(cursor, change):
    key_text, _, signature = cursor.partition(".")
    key = json.loads(base64.urlsafe_b64decode(key_text + "=" * (-len(key_text) % 4)))
    name = sorted(key)[change % len(key)]
    key[name] = {"S": f"{json.dumps(key[name])}{change}"}
    return f"{_b64(json.dumps(key).encode())}.{signature}"


def _forged_cursors(genuine):
    """Cursors no list gave out: made up, a genuine one's key edited under its signature, or
    one genuine cursor's key under another's signature."""
    forged = [_MADE_UP]
    if genuine:
        forged.append(st.builds(_edited, st.sampled_from(genuine), st.integers(0, 99)))
    if len(genuine) > 1:
        forged.append(st.permutations(genuine).map(
            lambda pair: f"{pair[0].partition('.')[0]}.{pair[1].partition('.')[2]}"))
    return st.one_of(forged)


def forged_cursor(case, spec, genuine):
    if not (spec.query and "cursor" in spec.query.get("properties", {})
            and isinstance(case.query, dict)):
        return None

    def with_cursor(cursor):
        case.query = {**case.query, "cursor": cursor}
        return _expect(case, NO_PAGE)

    return _forged_cursors(genuine).map(with_cursor)


# WeChat's XML -----------------------------------------------------------------------------

_FIELD_NAMES = ["appid", "mch_id", "nonce_str", "sign", "sign_type", "return_code",
                "result_code", "out_trade_no", "transaction_id", "total_fee", "cash_fee",
                "openid", "time_end", "req_info", "out_refund_no", "refund_fee", "refund_status",
                "refund_id", "xml", "root"]
_TEXTS = st.one_of(st.sampled_from(["SUCCESS", "FAIL", "MD5", "HMAC-SHA256", "CHANGE", "0",
                                    "1", "-1", "99999999999999999999", ""]),
                   st.integers(0, 10 ** 12).map(str), st.text(max_size=30))


def _text_xml(text, cdata):
    text = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "", text)
    return f"<![CDATA[{text.replace(']]>', '')}]]>" if cdata else escape(text)


def _element(name, inner):
    return f"<{name}>{inner}</{name}>"


_LEAVES = st.builds(lambda name, text, cdata: _element(name, _text_xml(text, cdata)),
                    st.sampled_from(_FIELD_NAMES), _TEXTS, st.booleans())
_ELEMENTS = st.recursive(_LEAVES, lambda inner: st.builds(
    lambda name, children: _element(name, "".join(children)), st.sampled_from(_FIELD_NAMES),
    st.lists(inner, max_size=4)), max_leaves=16)


def _document(root):
    return st.lists(_ELEMENTS, max_size=14).map(lambda children: _element(root, "".join(children)))


def _signed(fields):
    from wechatpy.pay.utils import calculate_signature

    return {**fields, "sign": calculate_signature(fields, MCH_KEY)}


_MUTATIONS = ["repeat", "repeat with another value", "nest", "attribute", "loose text",
              "another root", "root inside root", "entity"]


def _mutated(elements, mutation, index, text, root="xml"):
    """A flat notify (name, text pairs under root) made into XML WeChat never sends."""
    name, value = elements[index % len(elements)]
    items = [_element(n, _text_xml(v, True)) for n, v in elements]
    if mutation == "repeat":
        items.append(items[index % len(items)])
    elif mutation == "repeat with another value":
        items.insert(0, _element(name, _text_xml(text, False)))
    elif mutation == "nest":
        items[index % len(items)] = _element(name, _element("v", _text_xml(value, False)))
    elif mutation == "attribute":
        items[index % len(items)] = f'<{name} a="1">{_text_xml(value, True)}</{name}>'
    elif mutation == "loose text":
        items.append("x" + escape(text))
    document = "".join(items)
    if mutation == "another root":
        return _element("notify", document)
    if mutation == "root inside root":
        return _element(root, _element(root, document))
    if mutation == "entity":
        return f'<!DOCTYPE {root} [<!ENTITY e "{escape(text)}">]>' + _element(
            root, document.replace("</nonce_str>", "&e;</nonce_str>", 1)
            .replace("</refund_id>", "&e;</refund_id>", 1))
    return _element(root, document)


def _flat_document(elements, root="xml"):
    return _element(root, "".join(_element(n, _text_xml(v, True)) for n, v in elements))


def _genuine_pay_notify(order):
    fields = {"appid": TEST_ENVIRONMENT["WECHAT_APP_ID"],
              "mch_id": TEST_ENVIRONMENT["WECHAT_MCH_ID"], "nonce_str": uuid.uuid4().hex,
              "return_code": "SUCCESS", "result_code": "SUCCESS", "openid": "o-fuzz",
              "total_fee": str(order["total_fen"]), "out_trade_no": order["order_id"],
              "transaction_id": "4200000000202612010000000016", "time_end": "20261201120000"}
    return list(_signed(fields).items())


def _encrypted(inner_xml):
    from wechatpy.crypto import RefundCrypto

    crypto = RefundCrypto(hashlib.md5(MCH_KEY.encode()).hexdigest().encode())
    req_info = crypto.encrypt(inner_xml)
    return req_info.decode() if isinstance(req_info, bytes) else req_info


def _refund_envelope(inner_xml):
    return [("return_code", "SUCCESS"), ("appid", TEST_ENVIRONMENT["WECHAT_APP_ID"]),
            ("mch_id", TEST_ENVIRONMENT["WECHAT_MCH_ID"]), ("nonce_str", uuid.uuid4().hex),
            ("req_info", _encrypted(inner_xml))]


def refund_notify(result_xml):
    """A refund notify as WeChat sends it, its req_info the result XML encrypted with the
    merchant key."""
    return _flat_document(_refund_envelope(result_xml))


def _refund_result(refund):
    return [("out_refund_no", refund["refund_id"]), ("out_trade_no", refund["order_id"]),
            ("refund_fee", str(refund["refund_fen"])), ("refund_status", "SUCCESS"),
            ("refund_id", "50300000000000000000001"), ("success_time", "2026-12-01 12:00:00")]


def notify_xml(case, notifies):
    """Notifies that must all be refused: genuine ones made into XML WeChat never sends (for
    the refund notify: the envelope, or the result it encrypts), documents of WeChat's field
    names in any shape, and flat ones of any values signed with the merchant key. notifies:
    {"order": an unpaid order, "refund": a refund WeChat has not settled}, both real."""
    mutation = (st.sampled_from(_MUTATIONS), st.integers(0, 20), st.text(max_size=8))
    if case.path == PAY_NOTIFY:
        forged = st.builds(lambda *how: _mutated(_genuine_pay_notify(notifies["order"]), *how),
                           *mutation)
        signed = st.dictionaries(st.sampled_from(_FIELD_NAMES[:-2]), _TEXTS, max_size=12).map(
            lambda fields: _flat_document(list(_signed(fields).items())))
        shaped = st.one_of(_document("xml"), _document("root"), signed)
    else:
        def result(*how):
            return _mutated(_refund_result(notifies["refund"]), *how, root="root")

        def envelope(*how):
            inner = _flat_document(_refund_result(notifies["refund"]), "root")
            return _mutated(_refund_envelope(inner), *how)

        forged = st.one_of(
            st.builds(result, *mutation).map(refund_notify),
            st.builds(envelope, *mutation))
        shaped = st.one_of(_document("xml"), _document("root").map(refund_notify))
    return st.one_of(forged, shaped).map(
        lambda xml: _with_body(case, xml.encode(), NOTIFY_REFUSED))


# The persona's own ids in the body -------------------------------------------------------

def _planted(value, own):
    if isinstance(value, dict):
        return {name: own[name] if name in own and isinstance(item, str)
                else [own["store_id"]] if name == "stores" and isinstance(item, list)
                and "store_id" in own else _planted(item, own)
                for name, item in value.items()}
    if isinstance(value, list):
        return [_planted(item, own) for item in value]
    return value


def planted_ids(case, spec, own):
    if not own or not isinstance(case.body, (dict, list)):
        return None
    planted = _planted(case.body, own)
    if planted == case.body:
        return None
    return st.just(_with_body(case, planted, None))


# The hook --------------------------------------------------------------------------------

def twisted(case, *, genuine_cursors=(), notifies=None, own=None):
    """A strategy of the case as schemathesis drew it, or twisted by one of the twists that
    apply to it."""
    spec = SPECS.get((case.method.upper(), case.path))
    if spec is None:
        return st.just(case)
    if spec.content_type == "text/xml":
        twists = [notify_xml(case, notifies)] if notifies else []
    elif spec.content_type == "application/json" and case.media_type == "application/json":
        twists = [integral_float(case, spec), deep_nesting(case, spec),
                  planted_ids(case, spec, own)]
    else:
        twists = []
    twists.append(forged_cursor(case, spec, list(genuine_cursors)))
    twists = [twist for twist in twists if twist is not None]
    if not twists:
        return st.just(case)
    return st.booleans().flatmap(lambda plain: st.just(case) if plain else st.one_of(twists))
