"""WeChat Pay v2 (signed XML): unified order, order query, close, refund, refund query, and
the payment and refund result notifies.

Every request is checked like WeChat does: merchant, signature (MD5 or HMAC-SHA256, per the
request's sign_type), app id. Answers with return_code SUCCESS are signed with the request's
sign type; business failures are result_code FAIL with err_code/err_code_des.

An order is WeChat's for good once placed: placing it again must repeat its parameters
(time_start and time_expire included, and time_expire at least 5 minutes ahead) and gives the
same prepay id while that lives (2 hours);
it cannot be closed in its first 5 minutes, and stays payable while it is not closed. A failed
payment leaves it NOTPAY, to pay again.

A refund is accepted as PROCESSING (an order's refunds a minute apart) and settles in the
background (REFUND_SETTLE_DELAY_S times the time scale later) as SUCCESS, unless the sandbox's
control endpoints hold it or settle it otherwise; a settled refund with a notify_url gets
WeChat's encrypted refund result notify.
"""
import functools
import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sandbox.clock import now_shanghai, parse_wechat_pay_time, wechat_pay_time, \
    wechat_refund_time
from sandbox.miniprogram import openid_for
from sandbox.notify import start_delivery
from sandbox.signing import MD5, SIGN_TYPES, XmlFormatError, encrypt_req_info, \
    has_valid_signature, nonce, parse_xml, signed, to_xml
from sandbox.web import xml_response

NOTPAY, SUCCESS, CLOSED, REFUND = "NOTPAY", "SUCCESS", "CLOSED", "REFUND"
PROCESSING, CHANGE, REFUNDCLOSE = "PROCESSING", "CHANGE", "REFUNDCLOSE"
REFUND_RESULTS = (SUCCESS, CHANGE, REFUNDCLOSE)
REFUND_SETTLE_DELAY_S = 1
MAX_REFUNDS_PER_ORDER = 50
REFUND_INTERVAL = timedelta(minutes=1)  # between an order's refunds, on the sandbox's clock
# Where a refund's money comes from (refund_account): the payments not yet settled to the
# merchant (WeChat's default), or the merchant's available balance.
UNSETTLED_FUNDS, AVAILABLE_FUNDS = "REFUND_SOURCE_UNSETTLED_FUNDS", "REFUND_SOURCE_RECHARGE_FUNDS"
SHORT_OF_FUNDS = {UNSETTLED_FUNDS: "交易未结算资金不足，请使用可用余额退款",
                  AVAILABLE_FUNDS: "基本账户余额不足，请充值后重新发起"}
REFUND_PERIOD = timedelta(days=365)  # no refund for a payment older than this
PREPAY_LIFE = timedelta(hours=2)
NO_CLOSE_WITHIN = timedelta(minutes=5)  # of the order's placing
SHORTEST_EXPIRY = timedelta(minutes=5)  # from now to time_expire, when asked to place an order
PAID_STATES = (SUCCESS, REFUND)
TRADE_STATE_DESCRIPTIONS = {
    NOTPAY: "订单未支付",
    SUCCESS: "支付成功",
    CLOSED: "订单已关闭",
    REFUND: "订单发生过退款",
}
TRADE_TYPES = ("JSAPI", "NATIVE", "APP", "MWEB")
UNIFIED_ORDER_REQUIRED = ("body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url",
                          "trade_type")
# What must be the same when an unpaid order is placed again under the same out_trade_no.
ORDER_TERMS = ("body", "detail", "attach", "fee_type", "total_fee", "trade_type", "openid",
               "product_id", "goods_tag", "time_start", "time_expire")
ORDER_TIMES = ("time_start", "time_expire")  # yyyyMMddHHmmss, Beijing time, when given
# Who pays a non-JSAPI order (no openid in the order) when the sandbox settles it.
NATIVE_PAYER = "sandbox-native-payer"


class ReturnFail(Exception):
    """The request itself is refused (return_code FAIL, unsigned answer)."""


class TradeFail(Exception):
    """The request is valid but the business operation fails (result_code FAIL)."""

    def __init__(self, err_code, description):
        super().__init__(f"{err_code}: {description}")
        self.err_code = err_code
        self.description = description


@dataclass
class Refund:
    out_refund_no: str
    refund_id: str
    refund_fee: int
    notify_url: str = ""
    refund_account: str = UNSETTLED_FUNDS
    status: str = PROCESSING
    success_time: str = ""  # yyyy-MM-dd HH:mm:ss, once SUCCESS
    deliveries: int = 0


@dataclass
class Order:
    out_trade_no: str
    prepay_id: str
    prepay_expires_at: datetime
    placed_at: datetime
    terms: dict
    total_fee: int
    trade_type: str
    notify_url: str
    sign_type: str
    openid: str = ""
    attach: str = ""
    trade_state: str = NOTPAY
    transaction_id: str = ""
    time_end: str = ""
    bank_type: str = ""
    refunds: dict = field(default_factory=dict)  # out_refund_no -> Refund
    last_refund_at: datetime = None  # when its newest refund was accepted (the sandbox's clock)
    deliveries: int = 0

    @property
    def refunded_fee(self):
        """What the refunds take back: all but those that closed without paying out."""
        return sum(refund.refund_fee for refund in self.refunds.values()
                   if refund.status != REFUNDCLOSE)

    @property
    def is_paid(self):
        return self.trade_state in PAID_STATES

    def age(self, delta):
        """The order was placed (and paid, if it was) `delta` earlier."""
        self.placed_at -= delta
        self.prepay_expires_at -= delta
        if self.time_end:
            self.time_end = wechat_pay_time(parse_wechat_pay_time(self.time_end) - delta)

    def to_json(self):
        view = asdict(self)
        view["refunds"] = list(view["refunds"].values())
        view["refunded_fee"] = self.refunded_fee
        view["placed_at"] = wechat_pay_time(self.placed_at)
        view["prepay_expires_at"] = wechat_pay_time(self.prepay_expires_at)
        view["last_refund_at"] = self.last_refund_at and wechat_pay_time(self.last_refund_at)
        return view


def pay_endpoint(operation):
    """Parses and checks the signed XML request, runs `operation` under the lock, answers XML."""
    @functools.wraps(operation)
    def endpoint(state, request):
        try:
            params = _checked_params(state, request.body)
        except ReturnFail as fail:
            return xml_response(to_xml({"return_code": "FAIL", "return_msg": str(fail)}))
        try:
            with state.lock:
                outcome = {"result_code": "SUCCESS", **operation(state, params)}
        except TradeFail as fail:
            outcome = {"result_code": "FAIL", "err_code": fail.err_code,
                       "err_code_des": fail.description}
        return xml_response(to_xml(_signed_answer(state, params, outcome)))
    return endpoint


def failing_endpoint(err_code, description):
    """An endpoint that checks the request as every WeChat Pay endpoint does, then fails it
    with err_code (a fault the sandbox was told to make)."""
    def fail(state, params):
        raise TradeFail(err_code, description)
    return pay_endpoint(fail)


def _checked_params(state, body):
    credentials = state.credentials
    try:
        params = parse_xml(body)
    except XmlFormatError:
        raise ReturnFail("XML格式错误") from None
    if params.get("mch_id") != credentials.mch_id:
        raise ReturnFail("商户号mch_id不存在")
    if (params.get("sign_type") or MD5) not in SIGN_TYPES:
        raise ReturnFail("sign_type参数格式错误")
    if not has_valid_signature(params, credentials.mch_key):
        raise ReturnFail("签名错误")
    if params.get("appid") != credentials.app_id:
        raise ReturnFail("appid和mch_id不匹配")
    return params


def _signed_answer(state, params, outcome):
    credentials = state.credentials
    answer = {"return_code": "SUCCESS", "return_msg": "OK", "appid": credentials.app_id,
              "mch_id": credentials.mch_id, "nonce_str": nonce(), **outcome}
    answer = {name: value for name, value in answer.items() if value not in ("", None)}
    return signed(answer, credentials.mch_key, params.get("sign_type") or MD5)


def _require(params, *names):
    for name in names:
        if not params.get(name):
            raise TradeFail("LACK_PARAMS", f"缺少参数{name}")


def _fen(params, name):
    """A positive integer amount in fen."""
    value = params[name]
    if not value.isdigit() or int(value) <= 0:
        raise TradeFail("PARAM_ERROR", f"{name}参数格式错误")
    return int(value)


def _digits(count):
    return f"{secrets.randbelow(10 ** count):0{count}d}"


def _today():
    return now_shanghai().strftime("%Y%m%d")


def _new_prepay_id(order):
    order.prepay_id = "wx" + wechat_pay_time() + secrets.token_hex(10)
    order.prepay_expires_at = now_shanghai() + PREPAY_LIFE


@pay_endpoint
def unified_order(state, params):
    _require(params, *UNIFIED_ORDER_REQUIRED)
    total_fee = _fen(params, "total_fee")
    trade_type = params["trade_type"]
    if trade_type not in TRADE_TYPES:
        raise TradeFail("PARAM_ERROR", "trade_type参数格式错误")
    if trade_type == "JSAPI" and not params.get("openid"):
        raise TradeFail("PARAM_ERROR", "JSAPI支付必须传openid")
    times = {name: _wechat_time(params, name) for name in ORDER_TIMES if params.get(name)}
    terms = {name: params.get(name, "") for name in ORDER_TERMS}
    order = state.orders.get(params["out_trade_no"])
    now = now_shanghai()
    if order is not None:
        if order.is_paid:
            raise TradeFail("ORDERPAID", "该订单已支付")
        if order.trade_state == CLOSED:
            raise TradeFail("ORDERCLOSED", "该订单已关闭")
        if order.terms != terms:
            raise TradeFail("INVALID_REQUEST", "201 商户订单号重复")
    if "time_expire" in times and times["time_expire"] - now < SHORTEST_EXPIRY:
        raise TradeFail("PARAM_ERROR", "time_expire时间过短，刷卡至少1分钟，其他5分钟")
    if order is None:
        order = Order(  # with a prepay id that has expired: it gets its first one below
            out_trade_no=params["out_trade_no"], prepay_id="", prepay_expires_at=now,
            placed_at=now, terms=terms, total_fee=total_fee, trade_type=trade_type,
            notify_url=params["notify_url"], sign_type=params.get("sign_type") or MD5,
            openid=params.get("openid", ""), attach=params.get("attach", ""))
        state.orders[order.out_trade_no] = order
    if now >= order.prepay_expires_at:
        _new_prepay_id(order)
    answer = {"trade_type": trade_type, "prepay_id": order.prepay_id}
    if trade_type == "NATIVE":
        answer["code_url"] = f"weixin://wxpay/bizpayurl?pr={order.prepay_id[-7:]}"
    return answer


def _wechat_time(params, name):
    try:
        return parse_wechat_pay_time(params[name])
    except ValueError:
        raise TradeFail("PARAM_ERROR", f"{name}参数格式错误") from None


def _find_order(state, params):
    if params.get("transaction_id"):
        found = [order for order in state.orders.values()
                 if order.transaction_id == params["transaction_id"]]
        order = found[0] if found else None
    elif params.get("out_trade_no"):
        order = state.orders.get(params["out_trade_no"])
    else:
        raise TradeFail("LACK_PARAMS", "缺少参数out_trade_no或transaction_id")
    if order is None:
        raise TradeFail("ORDERNOTEXIST", "订单不存在")
    return order


def _payment_fields(order):
    if not order.transaction_id:
        return {}
    return {"transaction_id": order.transaction_id, "time_end": order.time_end,
            "openid": order.openid, "is_subscribe": "N", "bank_type": order.bank_type,
            "cash_fee": order.total_fee}


@pay_endpoint
def order_query(state, params):
    order = _find_order(state, params)
    return {"out_trade_no": order.out_trade_no, "trade_state": order.trade_state,
            "trade_state_desc": TRADE_STATE_DESCRIPTIONS[order.trade_state],
            "trade_type": order.trade_type, "total_fee": order.total_fee, "fee_type": "CNY",
            "attach": order.attach, **_payment_fields(order)}


@pay_endpoint
def close_order(state, params):
    _require(params, "out_trade_no")
    order = _find_order(state, {"out_trade_no": params["out_trade_no"]})
    if order.is_paid:
        raise TradeFail("ORDERPAID", "订单已支付，不能发起关单")
    if order.trade_state == CLOSED:
        raise TradeFail("ORDERCLOSED", "订单已关闭，无法重复关闭")
    if now_shanghai() - order.placed_at < NO_CLOSE_WITHIN:
        raise TradeFail("SYSTEMERROR", "订单生成后5分钟内不能关单，请稍后再试")
    order.trade_state = CLOSED
    return {}


def _refund_fields(order, refund):
    return {"transaction_id": order.transaction_id, "out_trade_no": order.out_trade_no,
            "out_refund_no": refund.out_refund_no, "refund_id": refund.refund_id,
            "refund_fee": refund.refund_fee, "total_fee": order.total_fee,
            "cash_fee": order.total_fee, "cash_refund_fee": refund.refund_fee}


def _inconsistent_refund():
    return TradeFail("INVALID_REQUEST", "订单金额或退款金额与之前请求不一致，请核实后再试")


@pay_endpoint
def refund(state, params):
    """Accepts a refund, which is PROCESSING until it settles in the background (see
    _settle_later); the same out_refund_no again answers the same refund. A new refund of
    the order less than a minute after its last one was accepted is FREQUENCY_LIMITED."""
    _require(params, "out_refund_no", "total_fee", "refund_fee")
    order = _find_order(state, params)
    total_fee, refund_fee = _fen(params, "total_fee"), _fen(params, "refund_fee")
    existing = order.refunds.get(params["out_refund_no"])
    if existing is not None:
        if (total_fee, refund_fee) != (order.total_fee, existing.refund_fee):
            raise _inconsistent_refund()
        return _refund_fields(order, existing)
    account = params.get("refund_account") or UNSETTLED_FUNDS
    if account not in SHORT_OF_FUNDS:
        raise TradeFail("PARAM_ERROR", "refund_account参数格式错误")
    if not order.is_paid:  # WeChat: an unpaid order has nothing to refund
        raise TradeFail("ORDERNOTEXIST", "订单号不存在")
    if now_shanghai() - parse_wechat_pay_time(order.time_end) > REFUND_PERIOD:
        raise TradeFail("TRADE_OVERDUE", "订单已经超过退款期限")
    if len(order.refunds) >= MAX_REFUNDS_PER_ORDER:
        raise TradeFail("ERROR", "订单已经超过可退款的最大次数")
    if total_fee != order.total_fee:
        raise _inconsistent_refund()
    if order.refunded_fee + refund_fee > order.total_fee:
        raise TradeFail("REFUND_FEE_INVALID", "累计退款金额大于支付金额")
    funds = state.refund_funds.get(account)  # None: as much as it takes
    if funds is not None and funds < refund_fee:
        raise TradeFail("NOTENOUGH", SHORT_OF_FUNDS[account])
    now = state.now()
    if order.last_refund_at is not None and now - order.last_refund_at < REFUND_INTERVAL:
        raise TradeFail("FREQUENCY_LIMITED", "同一笔订单的多次退款申请需间隔1分钟")
    if funds is not None:
        state.refund_funds[account] = funds - refund_fee
    new_refund = Refund(out_refund_no=params["out_refund_no"],
                        refund_id="50300" + _today() + _digits(16), refund_fee=refund_fee,
                        notify_url=params.get("notify_url", ""), refund_account=account)
    order.refunds[new_refund.out_refund_no] = new_refund
    order.last_refund_at = now
    order.trade_state = REFUND
    threading.Thread(target=_settle_later, args=(state, state.cancelled, order, new_refund),
                     name=f"refund-{new_refund.out_refund_no}", daemon=True).start()
    return _refund_fields(order, new_refund)


def _settle_later(state, cancelled, order, refund):
    """Settles the refund as SUCCESS after the delay, unless it was held or settled meanwhile.
    A reset of the sandbox ends the wait."""
    if cancelled.wait(REFUND_SETTLE_DELAY_S * state.time_scale):
        return
    with state.lock:
        if cancelled.is_set() or refund.status != PROCESSING \
                or refund.out_refund_no in state.held_refunds:
            return
        settle_refund(state, order, refund, SUCCESS)


def settle_refund(state, order, refund, status):
    """The refund ends with `status` (one of REFUND_RESULTS) and WeChat notifies its notify_url,
    if it has one. Call with the state lock held."""
    state.held_refunds.discard(refund.out_refund_no)
    refund.status = status
    if status == SUCCESS:
        refund.success_time = wechat_refund_time()
    if refund.notify_url:
        refund.deliveries += 1
        start_delivery(state, {"kind": "refund", "out_trade_no": order.out_trade_no,
                               "out_refund_no": refund.out_refund_no, "url": refund.notify_url,
                               "delivery": refund.deliveries},
                       to_xml(refund_notify(state, order, refund)))


def find_refund(state, out_refund_no):
    """(order, refund) for the out_refund_no, or (None, None)."""
    for order in state.orders.values():
        if out_refund_no in order.refunds:
            return order, order.refunds[out_refund_no]
    return None, None


def _refunds_asked_for(state, params):
    """The refunds a refund query names, most specific identifier first (as WeChat ranks them)."""
    if params.get("refund_id") or params.get("out_refund_no"):
        return [(order, each) for order in state.orders.values()
                for each in order.refunds.values()
                if each.refund_id == params.get("refund_id")
                or each.out_refund_no == params.get("out_refund_no")]
    if params.get("transaction_id") or params.get("out_trade_no"):
        order = _find_order(state, params)
        return [(order, each) for each in order.refunds.values()]
    raise TradeFail("LACK_PARAMS", "缺少参数")


@pay_endpoint
def refund_query(state, params):
    found = _refunds_asked_for(state, params)
    if not found:
        raise TradeFail("REFUNDNOTEXIST", "退款订单查询失败")
    order = found[0][0]
    answer = {"transaction_id": order.transaction_id, "out_trade_no": order.out_trade_no,
              "total_fee": order.total_fee, "cash_fee": order.total_fee,
              "refund_count": len(found)}
    for index, (_, each) in enumerate(found):
        answer.update({
            f"out_refund_no_{index}": each.out_refund_no, f"refund_id_{index}": each.refund_id,
            f"refund_fee_{index}": each.refund_fee, f"refund_status_{index}": each.status,
            f"refund_recv_accout_{index}": "支付用户的零钱",
            f"refund_success_time_{index}": each.success_time,
        })
    return answer


def settle(state, order):
    """The payer completes the payment. Call with the state lock held."""
    if not order.openid:
        order.openid = openid_for(state.credentials.app_id, NATIVE_PAYER)
    order.trade_state = SUCCESS
    order.transaction_id = "42000" + _today() + _digits(15)
    order.time_end = wechat_pay_time()
    order.bank_type = "OTHERS"


def notify_payment(state, order):
    """WeChat posts the order's payment result to its notify_url (retrying until acknowledged).
    Call with the state lock held."""
    order.deliveries += 1
    start_delivery(state, {"kind": "payment", "out_trade_no": order.out_trade_no,
                           "url": order.notify_url, "delivery": order.deliveries},
                   to_xml(payment_notify(state, order)))


def payment_notify(state, order):
    """The signed fields of the payment result notify, as WeChat posts them to notify_url:
    signed as the order was, and without sign_type even when that is HMAC-SHA256."""
    credentials = state.credentials
    fields = {"appid": credentials.app_id, "mch_id": credentials.mch_id, "nonce_str": nonce(),
              "return_code": "SUCCESS", "result_code": "SUCCESS", "openid": order.openid,
              "is_subscribe": "N", "trade_type": order.trade_type, "total_fee": order.total_fee,
              "fee_type": "CNY", "out_trade_no": order.out_trade_no, "attach": order.attach,
              "bank_type": order.bank_type, "cash_fee": order.total_fee,
              "transaction_id": order.transaction_id, "time_end": order.time_end}
    fields = {name: value for name, value in fields.items() if value not in ("", None)}
    return signed(fields, credentials.mch_key, order.sign_type)


def refund_notify(state, order, refund):
    """The refund result notify, as WeChat posts it to the refund's notify_url: not signed; the
    result is the <root> XML in req_info, encrypted with the merchant key."""
    credentials = state.credentials
    result = {"out_refund_no": refund.out_refund_no, "out_trade_no": order.out_trade_no,
              "refund_account": refund.refund_account, "refund_fee": refund.refund_fee,
              "refund_id": refund.refund_id, "refund_recv_accout": "支付用户的零钱",
              "refund_request_source": "API", "refund_status": refund.status,
              "settlement_refund_fee": refund.refund_fee,
              "settlement_total_fee": order.total_fee, "success_time": refund.success_time,
              "total_fee": order.total_fee, "transaction_id": order.transaction_id}
    result = {name: value for name, value in result.items() if value not in ("", None)}
    return {"return_code": "SUCCESS", "appid": credentials.app_id,
            "mch_id": credentials.mch_id, "nonce_str": nonce(),
            "req_info": encrypt_req_info(to_xml(result, root="root"), credentials.mch_key)}
