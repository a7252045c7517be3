import re

from chalice import Blueprint

from chalicelib.checkout import schemas
from chalicelib.core.pagination import PAGE_QUERY
from chalicelib.core.routing import ADMIN, MEMBER, PUBLIC, route

bp = Blueprint(__name__)

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")


@route(bp, "/cart/{store_id}", auth=MEMBER, response=schemas.CART,
       summary="My cart at a store, priced as of now")
def cart(call):
    from chalicelib.checkout import carts

    return carts.view(call.member_id, call.params["store_id"])


@route(bp, "/cart/{store_id}/items", "POST", auth=MEMBER, body=schemas.CART_ADD,
       response=schemas.CART, summary="Put units of a SKU in my cart")
def add_to_cart(call):
    from chalicelib.checkout import carts

    return carts.add(call.member_id, call.params["store_id"], call.body["sku_id"],
                     call.body["quantity"])


@route(bp, "/cart/{store_id}/items/{sku_id}", "PUT", auth=MEMBER, body=schemas.CART_SET,
       response=schemas.CART, summary="Change how many of a SKU my cart holds (0 removes it)")
def change_cart_line(call):
    from chalicelib.checkout import carts

    return carts.set_quantity(call.member_id, call.params["store_id"], call.params["sku_id"],
                              call.body["quantity"])


@route(bp, "/cart/{store_id}/items/{sku_id}", "DELETE", auth=MEMBER, response=schemas.CART,
       summary="Take a SKU out of my cart")
def remove_cart_line(call):
    from chalicelib.checkout import carts

    return carts.set_quantity(call.member_id, call.params["store_id"], call.params["sku_id"], 0)


@route(bp, "/checkout/preview", "POST", auth=MEMBER, body=schemas.ORDER_REQUEST,
       response=schemas.BREAKDOWN, error_codes=["coupon_unusable"],
       summary="What the order would cost, line by line")
def preview(call):
    from chalicelib.checkout import orders

    return orders.preview(call.member_id, call.body)


@route(bp, "/orders", "POST", auth=MEMBER, body=schemas.ORDER_REQUEST, response=schemas.ORDER,
       status=201, error_codes=["insufficient_stock", "coupon_unusable",
                                "idempotency_key_reused"],
       summary="Place an order (send an Idempotency-Key header: a retry gives the same order)")
def place_order(call):
    from chalicelib.checkout import carts, orders
    from chalicelib.errors import DomainError

    key = call.headers.get("idempotency-key", "")
    if not _IDEMPOTENCY_KEY.match(key):
        raise DomainError("validation_error",
                          "Send an Idempotency-Key header of 1 to 64 visible ASCII characters.")
    order, created = orders.place(call.member_id, key, call.body)
    if created:
        carts.remove(call.member_id, order.store_id,
                     [line["sku_id"] for line in order.breakdown["lines"]])
    return orders.order_view(order)


@route(bp, "/orders/{order_id}", auth=MEMBER, response=schemas.ORDER, summary="One of my orders")
def my_order(call):
    from chalicelib.checkout import orders

    return orders.order_view(orders.get_own(call.member_id, call.params["order_id"]))


@route(bp, "/members/me/orders", auth=MEMBER, query=PAGE_QUERY, response=schemas.ORDERS,
       summary="My orders, newest first")
def my_orders(call):
    from chalicelib.checkout import orders

    return orders.member_orders(call.member_id, int(call.query.get("limit", 20)),
                                call.query.get("cursor"))


@route(bp, "/admin/coupons", "POST", auth=ADMIN, body=schemas.NEW_COUPON,
       response=schemas.COUPON, status=201, summary="Issue a brand or store coupon")
def create_coupon(call):
    from chalicelib.checkout import coupons

    return coupons.create(call.body)


@route(bp, "/coupons", auth=PUBLIC, query=schemas.COUPONS_QUERY, response=schemas.COUPONS,
       summary="Coupons open to claim at a store (the brand's and the store's)")
def claimable_coupons(call):
    from chalicelib.checkout import coupons

    return {"coupons": coupons.claimable(call.query["store_id"])}


@route(bp, "/coupons/{coupon_id}/claim", "POST", auth=MEMBER, response=schemas.MEMBER_COUPON,
       status=201, error_codes=["coupon_unavailable"], summary="Claim a coupon")
def claim_coupon(call):
    from chalicelib.checkout import coupons

    return coupons.claim(call.member_id, call.params["coupon_id"])


@route(bp, "/members/me/coupons", auth=MEMBER, query=schemas.MEMBER_COUPONS_QUERY,
       response=schemas.MEMBER_COUPONS, summary="My coupons")
def my_coupons(call):
    from chalicelib.checkout import coupons

    return {"coupons": coupons.mine(call.member_id, call.query.get("status"))}
