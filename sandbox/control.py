"""The sandbox's own endpoints under /__sandbox__/: drive payments, inspect and reset state."""
from sandbox.notify import start_delivery
from sandbox.pay import NOTPAY, settle
from sandbox.web import BadRequest, json_response

PAYMENT_RESULTS = ("SUCCESS", "FAIL")


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
        start_delivery(state, order)
        return json_response(order.to_json())


def renotify(state, request):
    """Delivers the payment notify again (with retries), as WeChat sometimes does."""
    with state.lock:
        order, missing = _order_or_404(state, request)
        if missing:
            return missing
        if not order.has_payment_result:
            return control_error(409, f"the order is {order.trade_state}: nothing to notify")
        start_delivery(state, order)
        return json_response(order.to_json())


def get_order(state, request):
    with state.lock:
        order, missing = _order_or_404(state, request)
        return missing or json_response(order.to_json())


def _filtered(records, request, name):
    wanted = request.query.get(name)
    return [record for record in records if wanted is None or record[name] == wanted]


def list_notifies(state, request):
    with state.lock:
        return json_response(_filtered(state.notify_attempts, request, "out_trade_no"))


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


def stats(state, request):
    return json_response(state.stats())


def reset(state, request):
    state.clear()
    return json_response({"reset": True})
