"""The sandbox's own endpoints under /__sandbox__/: drive payments and refunds, make faults,
mint login and phone codes, move the clock, inspect and reset state."""
from dataclasses import asdict
from datetime import timedelta

from sandbox import faults, miniprogram, notify
from sandbox.clock import parse_wechat_pay_time, wechat_pay_time
from sandbox.pay import CLOSED, NOTPAY, PROCESSING, REFUND_RESULTS, SUCCESS, find_refund, \
    notify_payment, settle, settle_refund
from sandbox.web import BadRequest, json_response

PAYMENT_RESULTS = ("SUCCESS", "FAIL")
MAX_AGE_DAYS = 3650
MAX_CLOCK_ADVANCE_S = 366 * 86400


def control_error(status, message):
    return json_response({"errcode": -1, "errmsg": message}, status=status)


def _order_or_404(state, request):
    order = state.orders.get(request.path_params["out_trade_no"])
    return order, None if order else control_error(404, "order not found")


def pay_order(state, request):
    """The payer pays (SUCCESS, the default) or the payment fails (FAIL); WeChat notifies."""
    result = request.json(required=False).get("result", "SUCCESS")
    if result not in PAYMENT_RESULTS:
        raise BadRequest(f"result must be one of {', '.join(PAYMENT_RESULTS)}")
    with state.lock:
        order, missing = _order_or_404(state, request)
        if missing:
            return missing
        if order.trade_state != NOTPAY:
            return control_error(409, f"the order is {order.trade_state}, not awaiting payment")
        settle(state, order, succeeded=result == "SUCCESS")
        notify_payment(state, order)
        return json_response(order.to_json())


def renotify(state, request):
    """Delivers the payment notify again (with retries), as WeChat sometimes does."""
    with state.lock:
        order, missing = _order_or_404(state, request)
        if missing:
            return missing
        if not order.has_payment_result:
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
        settle(state, order, succeeded=True)
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
    """Moves the payment `days` days back in time, e.g. past WeChat's one-year refund limit."""
    days = request.json().get("days")
    if type(days) is not int or not 0 < days <= MAX_AGE_DAYS:
        raise BadRequest(f"days must be a whole number from 1 to {MAX_AGE_DAYS}")
    with state.lock:
        order, missing = _order_or_404(state, request)
        if missing:
            return missing
        if not order.time_end:
            return control_error(409, f"the order is {order.trade_state}: it was never paid")
        order.time_end = wechat_pay_time(parse_wechat_pay_time(order.time_end)
                                         - timedelta(days=days))
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


def refuse_messages(state, request):
    touser = request.json().get("touser")
    if not isinstance(touser, str) or not touser:
        raise BadRequest("touser is required")
    with state.lock:
        state.refusing_users.add(touser)
    return json_response({"touser": touser, "refusing": True})


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
