from chalice import Blueprint

from chalicelib.api.schemas import checkout as checkout_schemas
from chalicelib.api.checkout import idempotency_key
from chalicelib.api.routing import ADMIN, MEMBER, PUBLIC, route, staff
from chalicelib.api.schemas import flash as schemas

bp = Blueprint(__name__)

STORE_MANAGER = staff("store_manager", store_param="store_id")


@route(bp, "/flash-sales", auth=PUBLIC, query=schemas.SALES_QUERY, response=schemas.SALES,
       summary="Upcoming and live flash sales in a store")
def flash_sales(call):
    from chalicelib.promotions.flash import sales

    return {"flash_sales": sales.listed(call.query["store_id"])}


@route(bp, "/flash-sales/{sale_id}", auth=PUBLIC, response=schemas.SALE,
       summary="One flash sale, with what is left")
def flash_sale(call):
    from chalicelib.core.clock import clock
    from chalicelib.promotions.flash import sales

    return sales.sale_view(sales.get(call.params["sale_id"]), clock.now())


@route(bp, "/flash-sales/{sale_id}/orders", "POST", auth=MEMBER, body=schemas.ORDER_REQUEST,
       response=checkout_schemas.ORDER, status=201,
       error_codes=["sold_out", "flash_sale_not_live", "flash_sale_limit",
                    "idempotency_key_reused"],
       summary="Buy in a flash sale (send an Idempotency-Key header)")
def buy(call):
    from chalicelib.orders import placing as orders
    from chalicelib.promotions.flash import buying

    order, _ = buying.buy(call.member_id, call.params["sale_id"], idempotency_key(call),
                          call.body)
    return orders.order_view(order)


@route(bp, "/flash-sales/{sale_id}/reminder", "POST", auth=MEMBER, response=schemas.REMINDER,
       status=201, error_codes=["flash_sale_over"],
       summary="Remind me a few minutes before the sale starts")
def ask_reminder(call):
    from chalicelib.promotions.flash import reminders

    return reminders.ask(call.member_id, call.params["sale_id"])


def _admin_view(sale):
    from chalicelib.core.clock import clock
    from chalicelib.promotions.flash import sales

    return sales.admin_view(sale, clock.now())


_CREATING_ERRORS = ["price_below_floor", "brand_priced", "insufficient_stock"]


@route(bp, "/admin/flash-sales", "POST", auth=ADMIN, body=schemas.NEW_SALE,
       response=schemas.SALE, status=201, error_codes=_CREATING_ERRORS,
       summary="Create a flash sale for some or all stores")
def create_sale(call):
    from chalicelib.promotions.flash import sales

    return _admin_view(sales.create(call.body, call.staff))


@route(bp, "/stores/{store_id}/flash-sales", "POST", auth=STORE_MANAGER,
       body=schemas.STORE_SALE, response=schemas.SALE, status=201,
       error_codes=_CREATING_ERRORS,
       summary="Create a flash sale in my store (from its own stock)")
def create_store_sale(call):
    from chalicelib.promotions.flash import sales

    return _admin_view(sales.create({**call.body, "stores": [call.params["store_id"]]},
                                    call.staff))


def _store_sale(call):
    from chalicelib.errors import DomainError
    from chalicelib.promotions.flash import sales

    sale = sales.get(call.params["sale_id"])
    if sale.stores != [call.params["store_id"]]:
        raise DomainError("not_found", "This store has no such flash sale.")
    return sale


@route(bp, "/admin/flash-sales/{sale_id}", "PUT", auth=ADMIN, body=schemas.NEW_SALE,
       response=schemas.SALE, error_codes=["flash_sale_started", *_CREATING_ERRORS],
       summary="Change a flash sale before it starts")
def edit_sale(call):
    from chalicelib.promotions.flash import sales

    return _admin_view(sales.edit(sales.get(call.params["sale_id"]), call.body, call.staff))


@route(bp, "/stores/{store_id}/flash-sales/{sale_id}", "PUT", auth=STORE_MANAGER,
       body=schemas.STORE_SALE, response=schemas.SALE,
       error_codes=["flash_sale_started", *_CREATING_ERRORS],
       summary="Change my store's flash sale before it starts")
def edit_store_sale(call):
    from chalicelib.promotions.flash import sales

    return _admin_view(sales.edit(_store_sale(call),
                                  {**call.body, "stores": [call.params["store_id"]]},
                                  call.staff))


@route(bp, "/admin/flash-sales/{sale_id}/end", "POST", auth=ADMIN, response=schemas.SALE,
       error_codes=["flash_sale_over"], summary="End a flash sale now")
def end_sale(call):
    from chalicelib.promotions.flash import sales, window

    return _admin_view(window.end_early(sales.get(call.params["sale_id"])))


@route(bp, "/stores/{store_id}/flash-sales/{sale_id}/end", "POST", auth=STORE_MANAGER,
       response=schemas.SALE, error_codes=["flash_sale_over"],
       summary="End my store's flash sale now")
def end_store_sale(call):
    from chalicelib.promotions.flash import window

    return _admin_view(window.end_early(_store_sale(call)))
