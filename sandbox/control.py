"""The sandbox's own endpoints under /__sandbox__/: drive payments and refunds, make faults,
mint login and phone codes, move the clock, inspect and reset state."""
from dataclasses import asdict
from datetime import timedelta

from sandbox import faults, messages, miniprogram, notify
from sandbox.clock import now_shanghai
from sandbox.pay import AVAILABLE_FUNDS, CLOSED, NOTPAY, PROCESSING, REFUND_RESULTS, \
    SUCCESS, UNSETTLED_FUNDS, find_refund, notify_payment, settle, settle_refund
from sandbox.web import BadRequest, json_response

PAYMENT_RESULTS = ("SUCCESS", "FAIL")
MAX_AGE_DAYS = 3650
MAX_AGE_MINUTES = MAX_AGE_DAYS * 24 * 60
MAX_CLOCK_ADVANCE_S = 366 * 86400


def control_error(status, message):
    return json_response({"errcode": -1, "errmsg": message}, status=status)


def _order_or_404(state, request):
    order = state.orders.get(request.path_params["out_trade_no"])
    return order, None if order else control_error(404, "order not found")


def pay_order(state, request):
    """The payer pays (SUCCESS, the default) and WeChat notifies, or the payment fails (FAIL)
    and the order stays NOTPAY, to pay again. With a prepay_id, the payer pays with it (as
    wx.requestPayment does): it must be the order's, and alive."""
    body = request.json(required=False)
    result = body.get("result", "SUCCESS")
    if result not in PAYMENT_RESULTS:
        raise BadRequest(f"result must be one of {', '.join(PAYMENT_RESULTS)}")
    with state.lock:
        order, missing = _order_or_404(state, request)
        if missing:
            return missing
        if order.trade_state != NOTPAY:
            return control_error(409, f"the order is {order.trade_state}, not awaiting payment")
        if "prepay_id" in body and (body["prepay_id"] != order.prepay_id
                                    or now_shanghai() >= order.prepay_expires_at):
            return control_error(409, "该订单已失效，请重新返回商户下单支付")
        if result == "SUCCESS":
            settle(state, order)
            notify_payment(state, order)
        return json_response(order.to_json())


def renotify(state, request):
    """Delivers the payment notify again (with retries), as WeChat sometimes does."""
    with state.lock:
        order, missing = _order_or_404(state, request)
        if missing:
            return missing
        if not order.is_paid:
            return control_error(409, f"the order is {order.trade_state}: nothing to notify")
        notify_payment(state, order)
        return json_response(order.to_json())


def pay_after_close(state, request):
    """The payer's payment goes through although the order was closed (WeChat took it as the
    close landed, which it does): the order is paid, and its notify comes after the close."""
    with state.lock:
        order, missing = _order_or_404(state, request)
        if missing:
            return missing
        if order.trade_state not in (NOTPAY, CLOSED):
            return control_error(409, f"the order is {order.trade_state}, not awaiting payment "
                                      "or closed")
        settle(state, order)
        notify_payment(state, order)
        return json_response(order.to_json())


MAX_COPIES = 10


def hold_notifies(state, request):
    """Keeps the order's notifies (payment and refund) from its notify_url until released.
    Works before the order is placed."""
    out_trade_no = request.path_params["out_trade_no"]
    with state.lock:
        notify.hold(state, out_trade_no)
    return json_response({"out_trade_no": out_trade_no, "held": True})


def release_notifies(state, request):
    """Delivers the order's held notifies in turn: as made, or `reverse`d (out of order), each
    as `copies` (1) duplicates at the same moment."""
    body = request.json(required=False)
    reverse, copies = body.get("reverse", False), body.get("copies", 1)
    if type(reverse) is not bool:
        raise BadRequest("reverse must be true or false")
    if type(copies) is not int or not 1 <= copies <= MAX_COPIES:
        raise BadRequest(f"copies must be a whole number from 1 to {MAX_COPIES}")
    out_trade_no = request.path_params["out_trade_no"]
    with state.lock:
        if out_trade_no not in state.held_notifies:
            return control_error(409, "the order's notifies are not held")
        released = notify.release_held(state, out_trade_no, reverse, copies)
    return json_response({"out_trade_no": out_trade_no, "released": released})


def age_order(state, request):
    """The order was placed (and paid, if it was) `days` or `minutes` earlier: past WeChat's
    5 minutes before a close, a prepay id's 2 hours, the one-year refund limit."""
    body = request.json()
    unit, most = ("minutes", MAX_AGE_MINUTES) if "minutes" in body else ("days", MAX_AGE_DAYS)
    count = body.get(unit)
    if type(count) is not int or not 0 < count <= most:
        raise BadRequest(f"{unit} must be a whole number from 1 to {most}")
    with state.lock:
        order, missing = _order_or_404(state, request)
        if missing:
            return missing
        order.age(timedelta(**{unit: count}))
        return json_response(order.to_json())


def get_order(state, request):
    with state.lock:
        order, missing = _order_or_404(state, request)
        return missing or json_response(order.to_json())


def _refund_json(state, order, refund):
    return {**asdict(refund), "out_trade_no": order.out_trade_no,
            "transaction_id": order.transaction_id,
            "held": refund.out_refund_no in state.held_refunds}


def get_refund(state, request):
    with state.lock:
        order, refund = find_refund(state, request.path_params["out_refund_no"])
        if refund is None:
            return control_error(404, "refund not found")
        return json_response(_refund_json(state, order, refund))


def hold_refund(state, request):
    """Keeps the refund PROCESSING until it is settled here. Works before the refund is asked
    for, so that it never settles on its own."""
    out_refund_no = request.path_params["out_refund_no"]
    with state.lock:
        _, refund = find_refund(state, out_refund_no)
        if refund is not None and refund.status != PROCESSING:
            return control_error(409, f"the refund is already {refund.status}")
        state.held_refunds.add(out_refund_no)
        return json_response({"out_refund_no": out_refund_no, "held": True})


def refund_funds(state, request):
    """What the merchant has to refund from: {"unsettled_fen", "available_fen"}, each a whole
    number of fen, or null for no limit (as at start); a refund draws on the account it names
    and is refused with NOTENOUGH when that falls short. POST sets those given; GET shows."""
    names = {"unsettled_fen": UNSETTLED_FUNDS, "available_fen": AVAILABLE_FUNDS}
    body = request.json() if request.method == "POST" else {}
    for name, value in body.items():
        if name not in names or not (value is None or type(value) is int and value >= 0):
            raise BadRequest("give unsettled_fen and/or available_fen: a whole number of fen "
                             "from 0, or null")
    with state.lock:
        for name, value in body.items():
            if value is None:
                state.refund_funds.pop(names[name], None)
            else:
                state.refund_funds[names[name]] = value
        return json_response({name: state.refund_funds.get(account)
                              for name, account in names.items()})


def settle_refund_now(state, request):
    """Settles a PROCESSING refund (held or not) now: SUCCESS (the default), CHANGE or
    REFUNDCLOSE; WeChat notifies the refund's notify_url."""
    result = request.json(required=False).get("result", SUCCESS)
    if result not in REFUND_RESULTS:
        raise BadRequest(f"result must be one of {', '.join(REFUND_RESULTS)}")
    with state.lock:
        order, refund = find_refund(state, request.path_params["out_refund_no"])
        if refund is None:
            return control_error(404, "refund not found")
        if refund.status != PROCESSING:
            return control_error(409, f"the refund is already {refund.status}")
        settle_refund(state, order, refund, result)
        return json_response(_refund_json(state, order, refund))


def _filtered(records, request, *names):
    wanted = {name: request.query[name] for name in names if name in request.query}
    return [record for record in records
            if all(record.get(name) == value for name, value in wanted.items())]


def list_notifies(state, request):
    """Notify attempts, payment and refund, filtered by out_trade_no, out_refund_no, kind."""
    with state.lock:
        return json_response(_filtered(state.notify_attempts, request,
                                       "out_trade_no", "out_refund_no", "kind"))


def list_messages(state, request):
    with state.lock:
        return json_response(_filtered(state.messages, request, "touser"))


def accept_messages(state, request):
    """The user accepted these templates in wx.requestSubscribeMessage: one message each."""
    body = request.json()
    touser, template_ids = body.get("touser"), body.get("template_ids")
    if not isinstance(touser, str) or not touser:
        raise BadRequest("touser is required")
    if not isinstance(template_ids, list) or not all(
            isinstance(template_id, str) and template_id for template_id in template_ids):
        raise BadRequest("template_ids must be a list of template ids")
    with state.lock:
        for template_id in template_ids:
            state.subscriptions[(touser, template_id)] += 1
        return json_response({"touser": touser, "subscriptions": {
            template_id: state.subscriptions[(touser, template_id)]
            for template_id in template_ids}})


def list_templates(state, request):
    with state.lock:
        return json_response(state.templates)


def add_template(state, request):
    """The brand chose this template in WeChat's console: its keywords and their kinds
    ({"thing1": "thing", "amount2": "amount"}); a template id chosen again is replaced."""
    body = request.json()
    template_id, keywords = body.get("template_id"), body.get("keywords")
    if not isinstance(template_id, str) or not template_id:
        raise BadRequest("template_id is required")
    if not isinstance(keywords, dict) or not keywords or not all(
            isinstance(key, str) and key and kind in messages.VALUE_RULES
            for key, kind in keywords.items()):
        raise BadRequest("keywords must map each keyword to one of the kinds: "
                         + ", ".join(messages.VALUE_RULES))
    with state.lock:
        state.templates[template_id] = dict(keywords)
    return json_response({"template_id": template_id, "keywords": keywords})


def released_pages(state, request):
    with state.lock:
        return json_response({"pages": sorted(state.released_pages)})


def release_pages(state, request):
    """Releases a version of the mini-program with these pages (and no others)."""
    pages = request.json().get("pages")
    if not isinstance(pages, list) or not all(
            isinstance(page, str) and page and not page.startswith("/") for page in pages):
        raise BadRequest("pages must be a list of page paths such as pages/index/index")
    with state.lock:
        state.released_pages = set(pages)
        return json_response({"pages": sorted(state.released_pages)})


def list_wxacodes(state, request):
    with state.lock:
        return json_response(list(state.wxacodes))


def mint_login_code(state, request):
    """A login code for `user`, as wx.login() would hand it out now."""
    user = request.json().get("user")
    if not isinstance(user, str) or not user or ":" in user:
        raise BadRequest("user is required, without a colon")
    return _minted(state, "sandbox", user)


def mint_phone_code(state, request):
    """A phone-button code for `phone`, as the button would hand it out now."""
    phone = request.json().get("phone")
    if not isinstance(phone, str) or not phone.isdigit():
        raise BadRequest("phone is required, in digits")
    return _minted(state, "sandbox-phone", phone)


def _minted(state, kind, value):
    return json_response({"code": miniprogram.mint_code(state, kind, value),
                          "expires_in": miniprogram.CODE_LIFETIME_S})


def advance_clock(state, request):
    """Moves the sandbox's clock `seconds` forward: access tokens and minted codes age."""
    seconds = request.json().get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
            or not 0 < seconds <= MAX_CLOCK_ADVANCE_S:
        raise BadRequest(f"seconds must be a number above 0, at most {MAX_CLOCK_ADVANCE_S}")
    state.advance_clock(seconds)
    return json_response({"advanced_s": seconds, "now": state.now().isoformat()})


def set_token_quota_used(state, request):
    """Counts `used` access-token fetches against today's quota, as if other tools of the same
    app had fetched them."""
    used = request.json().get("used")
    if type(used) is not int or not 0 <= used <= miniprogram.ACCESS_TOKEN_DAILY_QUOTA:
        raise BadRequest(
            f"used must be a whole number from 0 to {miniprogram.ACCESS_TOKEN_DAILY_QUOTA}")
    with state.lock:
        state.access_token_fetches[miniprogram.fetch_day(state)] = used
    return json_response({"used": used, "quota": miniprogram.ACCESS_TOKEN_DAILY_QUOTA})


def add_fault(state, request):
    """Makes the next `times` requests to a WeChat path (whose fields match) fail: see
    sandbox/faults.py."""
    from sandbox.server import WECHAT_PATHS

    fault = faults.parse(request.json(), WECHAT_PATHS)
    with state.lock:
        state.faults.append(fault)
    return json_response(fault.to_json())


def list_faults(state, request):
    """The faults still to hit, with how often each has."""
    with state.lock:
        return json_response([fault.to_json() for fault in state.faults])


def clear_faults(state, request):
    with state.lock:
        state.faults.clear()
    return json_response({"faults": []})


def stats(state, request):
    return json_response(state.stats())


def reset(state, request):
    state.clear()
    return json_response({"reset": True})
