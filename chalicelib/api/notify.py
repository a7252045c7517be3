from chalice import Blueprint

from chalicelib.api.routing import ADMIN, MEMBER, route, staff
from chalicelib.api.schemas import notify as schemas

bp = Blueprint(__name__)

STORE_STAFF = staff("store_manager", "clerk", "guide", store_param="store_id")


def _page(query):
    return int(query.get("limit", 20)), query.get("cursor")


@route(bp, "/members/me/subscriptions", "POST", auth=MEMBER, body=schemas.SUBSCRIPTIONS,
       response=schemas.CREDITS,
       summary="Report the subscribe-message templates I accepted (one message each)")
def accept_subscriptions(call):
    from chalicelib.notify import credits

    return credits.accept(call.member_id, call.body["accepted"])


@route(bp, "/admin/members/{member_id}/notifications", auth=ADMIN,
       query=schemas.NOTIFICATIONS_QUERY, response=schemas.NOTIFICATIONS,
       summary="What was sent to a member and why, newest first")
def member_notifications(call):
    from chalicelib.members import accounts as services
    from chalicelib.notify import service

    member = services.get_member(call.params["member_id"])
    return service.of_member(member.member_id, *_page(call.query))


@route(bp, "/stores/{store_id}/members/{member_id}/notifications", auth=STORE_STAFF,
       query=schemas.NOTIFICATIONS_QUERY, response=schemas.NOTIFICATIONS,
       summary="What was sent to a member of this store and why, newest first")
def store_member_notifications(call):
    from chalicelib.errors import DomainError
    from chalicelib.members import accounts as services
    from chalicelib.notify import service

    try:
        member = services.get_member(call.params["member_id"])
    except DomainError:
        member = None
    store_id = call.params["store_id"]
    if member is None or store_id not in (member.home_store_id, member.current_store_id):
        raise DomainError("not_found", "No such member in this store.")
    return service.of_member(member.member_id, *_page(call.query))
