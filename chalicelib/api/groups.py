from chalice import Blueprint

from chalicelib.api.schemas import checkout as checkout_schemas
from chalicelib.api.checkout import idempotency_key
from chalicelib.api.routing import ADMIN, MEMBER, PUBLIC, route, staff
from chalicelib.api.schemas import groups as schemas

bp = Blueprint(__name__)

_PLACING_ERRORS = ["group_full", "group_buy_limit", "group_buy_not_live",
                   "group_buy_new_customers_only", "insufficient_stock",
                   "idempotency_key_reused"]


@route(bp, "/group-buys", auth=PUBLIC, query=schemas.CAMPAIGNS_QUERY,
       response=schemas.CAMPAIGNS,
       summary="Group-buys on in a store, each with open groups a shopper can join")
def group_buys(call):
    from chalicelib.promotions.groups import campaigns

    return {"group_buys": campaigns.listed(call.query["store_id"])}


@route(bp, "/group-buys/{campaign_id}/groups", "POST", auth=MEMBER,
       body=schemas.OPEN_REQUEST, response=checkout_schemas.ORDER, status=201,
       error_codes=_PLACING_ERRORS,
       summary="Open a group as its leader: my order (send an Idempotency-Key header)")
def open_group(call):
    from chalicelib.orders import placing as orders
    from chalicelib.promotions.groups import joining

    order, _ = joining.open_group(call.member_id, call.params["campaign_id"],
                                  idempotency_key(call), call.body)
    return orders.order_view(order)


@route(bp, "/groups/{group_id}", auth=PUBLIC, response=schemas.GROUP,
       summary="A group: members (nickname and avatar), seats and time left")
def group(call):
    from chalicelib.promotions.groups import campaigns

    return campaigns.group_with_members(call.params["group_id"])


@route(bp, "/groups/{group_id}/orders", "POST", auth=MEMBER, body=schemas.JOIN_REQUEST,
       response=checkout_schemas.ORDER, status=201, error_codes=_PLACING_ERRORS,
       summary="Join a group from its shared link: my order holds a seat while I pay")
def join_group(call):
    from chalicelib.orders import placing as orders
    from chalicelib.promotions.groups import joining

    order, _ = joining.join_group(call.member_id, call.params["group_id"],
                                  idempotency_key(call), call.body)
    return orders.order_view(order)


def _campaign_view(campaign):
    from chalicelib.promotions.groups import campaigns

    return campaigns.campaign_view(campaign)


_CREATING_ERRORS = ["price_below_floor", "brand_priced"]


@route(bp, "/admin/group-buys", "POST", auth=ADMIN, body=schemas.NEW_CAMPAIGN,
       response=schemas.CAMPAIGN, status=201, error_codes=_CREATING_ERRORS,
       summary="Create a group-buy campaign")
def create_campaign(call):
    from chalicelib.promotions.groups import campaigns

    return _campaign_view(campaigns.create(call.body, call.staff))


@route(bp, "/stores/{store_id}/group-buys", "POST",
       auth=staff("store_manager", store_param="store_id"), body=schemas.STORE_CAMPAIGN,
       response=schemas.CAMPAIGN, status=201, error_codes=_CREATING_ERRORS,
       summary="Create a group-buy in my store")
def create_store_campaign(call):
    from chalicelib.promotions.groups import campaigns

    return _campaign_view(campaigns.create({**call.body, "stores": [call.params["store_id"]]},
                                           call.staff))
