from chalice import Blueprint

from chalicelib.core.pagination import PAGE_QUERY
from chalicelib.api.routing import MEMBER, PUBLIC, Access, route, staff
from chalicelib.api.schemas import guides as schemas
from chalicelib.api.schemas import members as member_schemas

bp = Blueprint(__name__)

GUIDE = Access("staff", ("guide",))  # links belong to a guide and their store: not admins


@route(bp, "/guides/me/links", "POST", auth=GUIDE, body=schemas.NEW_LINK, response=schemas.LINK,
       status=201, summary="A share link (and mini-program code) for my store or a product")
def create_link(call):
    from chalicelib.guides import links

    return links.create(call.staff, call.body.get("product_id"))


@route(bp, "/links/{scene}", auth=PUBLIC, response=schemas.LINK,
       summary="What a scene from a shared code or link points to")
def resolve_link(call):
    from chalicelib.guides import links

    return links.link_view(links.resolve(call.params["scene"]))


@route(bp, "/links/{scene}/code.jpg", auth=PUBLIC, produces="image/jpeg",
       response={"type": "string", "format": "binary"},
       summary="The link's mini-program code (fetched from WeChat once, then kept)")
def link_code(call):
    from chalicelib import wechat
    from chalicelib.guides import links

    return links.mini_program_code(call.params["scene"], wechat.mini_program())


@route(bp, "/links/{scene}/code.png", auth=PUBLIC, produces="image/jpeg",
       response={"type": "string", "format": "binary"},
       summary="The same code at its first address (WeChat makes it a JPEG)")
def link_code_at_first_address(call):
    return link_code(call)


@route(bp, "/bindings", "POST", auth=MEMBER, body=schemas.BINDING_REQUEST,
       response=schemas.BINDING, error_codes=["self_referral"],
       summary="I opened a guide's link: bind me to that guide")
def open_link(call):
    from chalicelib.guides import bindings

    return bindings.open_link(call.member_id, call.body["scene"])


@route(bp, "/guides/me/customers", auth=GUIDE, query=PAGE_QUERY,
       response=schemas.CUSTOMERS, summary="The shoppers bound to me")
def my_customers(call):
    from chalicelib.guides import bindings

    return bindings.customers(call.member_id, int(call.query.get("limit", 20)),
                              call.query.get("cursor"))


@route(bp, "/stores/{store_id}/guides/{guide_id}/reassign", "POST",
       auth=staff("store_manager", store_param="store_id"), body=schemas.REASSIGNMENT,
       response=schemas.REASSIGNED,
       summary="Hand a guide's (or a former guide's) customers to another guide of the store")
def reassign(call):
    from chalicelib.guides import bindings

    return bindings.reassign(call.params["store_id"], call.params["guide_id"],
                             call.body["to_guide_id"], call.member_id)


def month_of_call(call):
    """The month a call asks about: its ?month=, or this month (Asia/Shanghai)."""
    from chalicelib.core.clock import clock
    from chalicelib.guides.commissions import month_of

    return call.query.get("month") or month_of(clock.now())


@route(bp, "/guides/me/orders", auth=GUIDE, query=schemas.SALES_QUERY, response=schemas.SALES,
       summary="Orders attributed to me in a month, newest first, with my commission")
def my_orders(call):
    from chalicelib.guides import commissions as attribution

    return attribution.sales(call.member_id, month_of_call(call),
                             int(call.query.get("limit", 20)), call.query.get("cursor"))


@route(bp, "/guides/me/performance", auth=GUIDE, query=schemas.MONTH_QUERY,
       response=schemas.PERFORMANCE, summary="My orders, sales and commission in a month")
def my_performance(call):
    from chalicelib.guides import commissions as attribution

    return attribution.month_totals(call.member_id, month_of_call(call))


@route(bp, "/stores/{store_id}/guides/{guide_id}/performance",
       auth=staff("store_manager", store_param="store_id"), query=schemas.MONTH_QUERY,
       response=schemas.PERFORMANCE, summary="A guide of the store: orders, sales, commission")
def guide_performance(call):
    from chalicelib.errors import DomainError
    from chalicelib.guides import commissions as attribution
    from chalicelib.members.staff import guide_of

    guide = guide_of(call.params["guide_id"], call.params["store_id"])
    if guide is None:
        raise DomainError("not_found", "No such guide in this store.")
    return attribution.month_totals(guide.member_id, month_of_call(call))


@route(bp, "/guides/me/invites", "POST", auth=GUIDE, body=schemas.GUIDE_INVITE,
       response=member_schemas.INVITATION, status=201,
       summary="Recruit a guide for my store: a one-time code; I earn a second-level "
               "commission on their sales")
def invite_guide(call):
    from chalicelib.members import staff as staff_service

    return staff_service.invite("guide", call.staff.store_id, call.body.get("name"),
                                call.member_id)
