import re

from chalice import Blueprint

from chalicelib.api.schemas import checkout as schemas
from chalicelib.core.pagination import PAGE_QUERY
from chalicelib.api.routing import ADMIN, MEMBER, PUBLIC, route, staff

bp = Blueprint(__name__)

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")


def idempotency_key(call):
    """The Idempotency-Key header an order is placed with: a retry gives the same order."""
    from chalicelib.errors import DomainError

    key = call.headers.get("idempotency-key", "")
    if not _IDEMPOTENCY_KEY.match(key):
        raise DomainError("validation_error",
                          "Send an Idempotency-Key header of 1 to 64 visible ASCII characters.")
    return key


@route(bp, "/cart/{store_id}", auth=MEMBER, response=schemas.CART,
       summary="My cart at a store, priced as of now")
def cart(call):
    from chalicelib.mall import carts

    return carts.view(call.member_id, call.params["store_id"])


@route(bp, "/cart/{store_id}/items", "POST", auth=MEMBER, body=schemas.CART_ADD,
       response=schemas.CART, summary="Put units of a SKU in my cart")
def add_to_cart(call):
    from chalicelib.mall import carts

    return carts.add(call.member_id, call.params["store_id"], call.body["sku_id"],
                     call.body["quantity"])


@route(bp, "/cart/{store_id}/items/{sku_id}", "PUT", auth=MEMBER, body=schemas.CART_SET,
       response=schemas.CART, summary="Change how many of a SKU my cart holds (0 removes it)")
def change_cart_line(call):
    from chalicelib.mall import carts

    return carts.set_quantity(call.member_id, call.params["store_id"], call.params["sku_id"],
                              call.body["quantity"])


@route(bp, "/cart/{store_id}/items/{sku_id}", "DELETE", auth=MEMBER, response=schemas.CART,
       summary="Take a SKU out of my cart")
def remove_cart_line(call):
    from chalicelib.mall import carts

    return carts.set_quantity(call.member_id, call.params["store_id"], call.params["sku_id"], 0)


@route(bp, "/checkout/preview", "POST", auth=MEMBER, body=schemas.ORDER_REQUEST,
       response=schemas.BREAKDOWN, error_codes=["coupon_unusable"],
       summary="What the order would cost, line by line")
def preview(call):
    from chalicelib.mall import channel as mall

    return mall.preview(call.member_id, call.body)


@route(bp, "/orders", "POST", auth=MEMBER, body=schemas.ORDER_REQUEST, response=schemas.ORDER,
       status=201, error_codes=["insufficient_stock", "coupon_unusable",
                                "idempotency_key_reused"],
       summary="Place an order (send an Idempotency-Key header: a retry gives the same order)")
def place_order(call):
    from chalicelib.mall import carts
    from chalicelib.mall.channel import MALL
    from chalicelib.orders import placing as orders

    order, created = orders.place(MALL, call.member_id, idempotency_key(call), call.body)
    if created:
        carts.remove(call.member_id, order.store_id,
                     [line["sku_id"] for line in order.breakdown["lines"]])
    return orders.order_view(order)


@route(bp, "/orders/{order_id}", auth=MEMBER, response=schemas.ORDER, summary="One of my orders")
def my_order(call):
    from chalicelib.orders import placing as orders

    return orders.order_view(orders.get_own(call.member_id, call.params["order_id"]))


@route(bp, "/members/me/orders", auth=MEMBER, query=PAGE_QUERY, response=schemas.ORDERS,
       summary="My orders, newest first")
def my_orders(call):
    from chalicelib.orders import placing as orders

    return orders.member_orders(call.member_id, int(call.query.get("limit", 20)),
                                call.query.get("cursor"))


@route(bp, "/admin/coupons", "POST", auth=ADMIN, body=schemas.NEW_COUPON,
       response=schemas.COUPON, status=201, summary="Issue a brand or store coupon")
def create_coupon(call):
    from chalicelib.coupons import wallet as coupons

    return coupons.create(call.body)


@route(bp, "/coupons", auth=PUBLIC, query=schemas.COUPONS_QUERY, response=schemas.COUPONS,
       summary="Coupons open to claim at a store (the brand's and the store's)")
def claimable_coupons(call):
    from chalicelib.coupons import wallet as coupons

    return {"coupons": coupons.claimable(call.query["store_id"])}


@route(bp, "/coupons/{coupon_id}/claim", "POST", auth=MEMBER, response=schemas.MEMBER_COUPON,
       status=201, error_codes=["coupon_unavailable"], summary="Claim a coupon")
def claim_coupon(call):
    from chalicelib.coupons import wallet as coupons

    return coupons.claim(call.member_id, call.params["coupon_id"])


@route(bp, "/admin/members/{member_id}/coupons", "POST", auth=ADMIN, body=schemas.COUPON_GRANT,
       response=schemas.MEMBER_COUPON, status=201,
       error_codes=["coupon_unavailable", "idempotency_key_reused"],
       summary="Give a member a coupon, public or granted, within its total, window and "
               "per-member limit (an Idempotency-Key header makes a repeat give the same one)")
def grant_coupon(call):
    from chalicelib.coupons import wallet as coupons
    from chalicelib.members.reading import get_member

    key = idempotency_key(call) if "idempotency-key" in call.headers else None
    return coupons.grant(get_member(call.params["member_id"]).member_id,
                         call.body["coupon_id"], key)


@route(bp, "/members/me/coupons", auth=MEMBER, query=schemas.MEMBER_COUPONS_QUERY,
       response=schemas.MEMBER_COUPONS, summary="My coupons")
def my_coupons(call):
    from chalicelib.coupons import wallet as coupons

    return {"coupons": coupons.mine(call.member_id, call.query.get("status"))}


@route(bp, "/orders/{order_id}/pay", "POST", auth=MEMBER, response=schemas.PAYMENT,
       error_codes=["order_not_payable", "wechat_unavailable"],
       summary="Start paying: the signed parameters for wx.requestPayment")
def pay_order(call):
    from chalicelib.orders import payments

    return payments.start(call.member_id, call.params["order_id"])


@route(bp, "/orders/{order_id}/cancel", "POST", auth=MEMBER, response=schemas.ORDER,
       error_codes=["order_not_payable"], summary="Cancel an unpaid order (gives back stock, "
                                                  "coupon and points)")
def cancel_order(call):
    from chalicelib.orders import closing as lifecycle, placing as orders

    return orders.order_view(lifecycle.cancel(call.member_id, call.params["order_id"]))


@route(bp, "/orders/{order_id}/refund", "POST", auth=MEMBER, body=schemas.MY_REFUND,
       response=schemas.REFUND, status=201,
       error_codes=["refund_not_allowed", "refund_in_progress"],
       summary="Refund my whole order while it is not yet shipped or picked up")
def refund_my_order(call):
    from chalicelib.orders import placing as orders, refunds

    order = orders.get_own(call.member_id, call.params["order_id"])
    return refunds.refund_view(refunds.by_shopper(order, call.body["reason"]))


@route(bp, "/orders/{order_id}/refunds", auth=MEMBER, response=schemas.REFUNDS,
       summary="The refunds of my order")
def my_order_refunds(call):
    from chalicelib.orders import placing as orders, refunds

    order = orders.get_own(call.member_id, call.params["order_id"])
    return {"refunds": refunds.of_order(order.order_id)}


@route(bp, "/wechat/pay/notify", "POST", auth=PUBLIC, body=schemas.WECHAT_XML,
       content_type="text/xml", produces="text/xml", response=schemas.WECHAT_XML,
       summary="WeChat Pay's payment result notify (signed XML; answered in XML)")
def pay_notify(call):
    from chalicelib.orders import payments

    return payments.on_notify(call.body if isinstance(call.body, str) else "")


@route(bp, "/wechat/pay/refund-notify", "POST", auth=PUBLIC, body=schemas.WECHAT_XML,
       content_type="text/xml", produces="text/xml", response=schemas.WECHAT_XML,
       summary="WeChat Pay's refund result notify (encrypted req_info; answered in XML)")
def refund_notify(call):
    from chalicelib.orders import refunds

    return refunds.on_notify(call.body if isinstance(call.body, str) else "")


STORE_COUNTER = staff("store_manager", "clerk", store_param="store_id")
STORE_MANAGER = staff("store_manager", store_param="store_id")


@route(bp, "/stores/{store_id}/pickups", "POST", auth=STORE_COUNTER, body=schemas.PICKUP,
       response=schemas.ORDER, error_codes=["refund_in_progress"],
       summary="Hand a paid pickup order over against its code")
def redeem_pickup(call):
    from chalicelib.orders import fulfilment, placing as orders

    return orders.order_view(fulfilment.redeem(call.params["store_id"], call.body["code"],
                                           call.member_id))


@route(bp, "/stores/{store_id}/orders", auth=STORE_COUNTER,
       query=schemas.STORE_ORDERS_QUERY, response=schemas.ORDERS,
       summary="The store's orders of one day (Asia/Shanghai), newest first, by status")
def store_orders(call):
    from chalicelib.orders import placing as orders

    return orders.store_orders(call.params["store_id"], call.query.get("day"),
                               call.query.get("status"), int(call.query.get("limit", 20)),
                               call.query.get("cursor"))


@route(bp, "/stores/{store_id}/orders/{order_id}", auth=STORE_COUNTER, response=schemas.ORDER,
       summary="One of the store's orders")
def store_order(call):
    from chalicelib.orders import fulfilment, placing as orders

    return orders.order_view(fulfilment.store_order(call.params["store_id"],
                                                    call.params["order_id"]))


@route(bp, "/stores/{store_id}/orders/{order_id}/ship", "POST", auth=STORE_COUNTER,
       body=schemas.SHIPMENT, response=schemas.ORDER,
       error_codes=["order_not_shippable", "refund_in_progress"],
       summary="Mark a paid delivery order shipped")
def ship_order(call):
    from chalicelib.notify import hooks
    from chalicelib.orders import fulfilment, placing as orders

    order = fulfilment.ship(call.params["store_id"], call.params["order_id"], call.body,
                            call.member_id)
    hooks.shipped(order)  # the shopper's message, queued once per order; never raises
    return orders.order_view(order)


@route(bp, "/stores/{store_id}/orders/{order_id}/deliver", "POST", auth=STORE_COUNTER,
       response=schemas.ORDER, error_codes=["order_not_shippable"],
       summary="Mark a shipped order delivered")
def deliver_order(call):
    from chalicelib.orders import fulfilment, placing as orders

    return orders.order_view(fulfilment.deliver(call.params["store_id"],
                                                call.params["order_id"], call.member_id))


@route(bp, "/stores/{store_id}/orders/{order_id}/refunds", "POST", auth=STORE_MANAGER,
       body=schemas.STAFF_REFUND, response=schemas.REFUND, status=201,
       error_codes=["refund_not_allowed", "nothing_to_refund", "refund_in_progress"],
       summary="Refund units of an order's lines, or all that is left of it")
def refund_store_order(call):
    from chalicelib.orders import fulfilment, refunds

    order = fulfilment.store_order(call.params["store_id"], call.params["order_id"])
    wanted = None
    if call.body.get("lines"):
        wanted = {}
        for line in call.body["lines"]:
            wanted[line["sku_id"]] = wanted.get(line["sku_id"], 0) + line["quantity"]
    return refunds.refund_view(refunds.request(order.order_id, wanted, call.body["reason"],
                                               call.member_id))


@route(bp, "/stores/{store_id}/orders/{order_id}/refunds", auth=STORE_COUNTER,
       response=schemas.REFUNDS, summary="The refunds of one of the store's orders")
def store_order_refunds(call):
    from chalicelib.orders import fulfilment, refunds

    order = fulfilment.store_order(call.params["store_id"], call.params["order_id"])
    return {"refunds": refunds.of_order(order.order_id)}


@route(bp, "/stores/{store_id}/orders/{order_id}/refunds/{refund_id}/returned", "POST",
       auth=STORE_COUNTER, response=schemas.REFUND, error_codes=["refund_in_progress"],
       summary="Confirm that the goods of a refund of handed-over goods came back (they are "
               "stock again, once)")
def refund_goods_returned(call):
    from chalicelib.orders import fulfilment, refunds

    order = fulfilment.store_order(call.params["store_id"], call.params["order_id"])
    return refunds.refund_view(refunds.confirm_return(order, call.params["refund_id"],
                                                      call.member_id))


@route(bp, "/stores/{store_id}/orders/{order_id}/refunds/{refund_id}/resolution", "POST",
       auth=STORE_MANAGER, body=schemas.REFUND_RESOLUTION, response=schemas.REFUND,
       summary="Resolve a refund WeChat could not pay out (CHANGE): settled by hand on the "
               "merchant platform, or released to be refunded again")
def resolve_refund(call):
    from chalicelib.orders import fulfilment, refunds

    order = fulfilment.store_order(call.params["store_id"], call.params["order_id"])
    return refunds.refund_view(refunds.resolve(order, call.params["refund_id"],
                                               call.body["outcome"], call.member_id))
