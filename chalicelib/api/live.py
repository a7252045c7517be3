from chalice import Blueprint

from chalicelib.api.schemas import checkout as checkout_schemas
from chalicelib.api.checkout import idempotency_key
from chalicelib.core.pagination import PAGE_QUERY
from chalicelib.api.routing import ADMIN, MEMBER, PUBLIC, Access, route, staff
from chalicelib.api.schemas import live as schemas

bp = Blueprint(__name__)

GUIDE = Access("staff", ("guide",))  # the host's own pages: a session belongs to its guide
STORE_MANAGER = staff("store_manager", store_param="store_id")
_CREATING_ERRORS = ["price_below_floor", "insufficient_stock"]


@route(bp, "/live-sessions", auth=PUBLIC, query=schemas.SESSIONS_QUERY,
       response=schemas.SESSIONS, summary="Scheduled and live sessions selling in a store")
def live_sessions(call):
    from chalicelib.promotions.live import sessions

    return {"live_sessions": sessions.listed(call.query["store_id"])}


@route(bp, "/live-sessions/{session_id}", auth=PUBLIC, response=schemas.SESSION,
       summary="A live session: status, host, pinned product, lineup at live prices")
def live_session(call):
    from chalicelib.promotions.live import sessions

    return sessions.session_view(sessions.shown(call.params["session_id"]))


@route(bp, "/live-sessions/{session_id}/enter", "POST", auth=MEMBER, response=schemas.ENTERED,
       error_codes=["live_session_over"],
       summary="Enter a live session: the live token its live prices ask for")
def enter(call):
    from chalicelib.figures import traffic
    from chalicelib.promotions.live import sessions

    def visited(store_id, at):  # a visit in the retail figures
        traffic.visit(call.member_id, "live_entry", store_id, at)

    return sessions.enter(call.member_id, call.params["session_id"], visited=visited)


@route(bp, "/live-sessions/{session_id}/reminder", "POST", auth=MEMBER,
       response=schemas.REMINDER, status=201, error_codes=["live_session_over"],
       summary="Tell me when this live session starts (a subscribe message)")
def ask_reminder(call):
    from chalicelib.promotions.live import sessions

    return sessions.ask_reminder(call.member_id, call.params["session_id"])


@route(bp, "/live-sessions/{session_id}/orders", "POST", auth=MEMBER,
       body=schemas.ORDER_REQUEST, response=checkout_schemas.ORDER, status=201,
       error_codes=["sold_out", "live_session_not_live", "live_token_invalid",
                    "live_token_expired", "idempotency_key_reused"],
       summary="Buy at the live price (send the live token and an Idempotency-Key header)")
def buy(call):
    from chalicelib.orders import placing as orders
    from chalicelib.promotions.live import buying

    order, _ = buying.buy(call.member_id, call.params["session_id"], idempotency_key(call),
                          call.body)
    return orders.order_view(order)


@route(bp, "/admin/live-sessions", "POST", auth=ADMIN, body=schemas.NEW_SESSION,
       response=schemas.SESSION, status=201, error_codes=_CREATING_ERRORS,
       summary="Schedule a live session for a host guide (approved as it is made)")
def create_session(call):
    from chalicelib.promotions.live import sessions

    body = dict(call.body)
    host_id = body.pop("host_id")
    return sessions.host_view(sessions.create(body, call.staff, host_id))


@route(bp, "/admin/live-sessions/{session_id}/end", "POST", auth=ADMIN,
       response=schemas.SESSION, error_codes=["live_session_over"],
       summary="End a live session now (its unsold live units go back to stock)")
def admin_end(call):
    from chalicelib.promotions.live import sessions

    return sessions.host_view(sessions.end(sessions.get(call.params["session_id"])))


@route(bp, "/admin/live-sessions/{session_id}/figures", auth=ADMIN, response=schemas.FIGURES,
       summary="A session's orders, buyers, GMV, units per product and conversion")
def admin_figures(call):
    from chalicelib.promotions.live import figures, sessions

    return figures.figures_view(sessions.get(call.params["session_id"]))


@route(bp, "/guides/me/live-sessions", "POST", auth=GUIDE, body=schemas.GUIDE_SESSION,
       response=schemas.SESSION, status=201, error_codes=_CREATING_ERRORS,
       summary="Schedule a live session that I host, for my store (it waits for approval)")
def create_my_session(call):
    from chalicelib.promotions.live import sessions

    return sessions.host_view(sessions.create({**call.body, "stores": [call.staff.store_id]},
                                              call.staff, call.member_id))


@route(bp, "/guides/me/live-sessions", auth=GUIDE, query=PAGE_QUERY, response=schemas.SESSIONS,
       summary="The live sessions I host, latest first")
def my_sessions(call):
    from chalicelib.promotions.live import sessions

    return sessions.hosted(call.member_id, int(call.query.get("limit", 20)),
                           call.query.get("cursor"))


def _mine(call):
    from chalicelib.promotions.live import sessions

    return sessions.hosted_by(call.params["session_id"], call.member_id)


@route(bp, "/guides/me/live-sessions/{session_id}/start", "POST", auth=GUIDE,
       response=schemas.SESSION, error_codes=["live_session_over", "live_session_not_approved"],
       summary="Go live: the live-only units move into the session")
def start(call):
    from chalicelib.promotions.live import sessions

    return sessions.host_view(sessions.start(_mine(call)))


@route(bp, "/guides/me/live-sessions/{session_id}/end", "POST", auth=GUIDE,
       response=schemas.SESSION, error_codes=["live_session_over"],
       summary="End my live session: unsold live units go back to stock")
def end(call):
    from chalicelib.promotions.live import sessions

    return sessions.host_view(sessions.end(_mine(call)))


@route(bp, "/guides/me/live-sessions/{session_id}/pin", "POST", auth=GUIDE, body=schemas.PIN,
       response=schemas.SESSION, error_codes=["live_session_over"],
       summary="Pin the product I am presenting (讲解中), or none")
def pin(call):
    from chalicelib.promotions.live import sessions

    return sessions.host_view(sessions.pin(_mine(call), call.body["sku_id"]))


@route(bp, "/guides/me/live-sessions/{session_id}/figures", auth=GUIDE,
       response=schemas.FIGURES,
       summary="My session's orders, buyers, GMV, units per product and conversion")
def my_figures(call):
    from chalicelib.promotions.live import figures

    return figures.figures_view(_mine(call))


@route(bp, "/stores/{store_id}/live-sessions", auth=STORE_MANAGER,
       query=schemas.STORE_SESSIONS_QUERY, response=schemas.SESSIONS,
       summary="The store's live sessions not yet ended (?approval=pending: those waiting)")
def store_sessions(call):
    from chalicelib.promotions.live import sessions

    return {"live_sessions": sessions.store_sessions(call.params["store_id"],
                                                     call.query.get("approval"))}


def _decide(call, approve):
    from chalicelib.promotions.live import sessions

    return sessions.host_view(sessions.decide(sessions.get(call.params["session_id"]),
                                              call.params["store_id"], call.staff, approve))


@route(bp, "/stores/{store_id}/live-sessions/{session_id}/approve", "POST",
       auth=STORE_MANAGER, response=schemas.SESSION,
       error_codes=["conflict", "live_session_over", "price_below_floor", "brand_priced"],
       summary="Approve a guide's live session: it may go live at its prices")
def approve_session(call):
    return _decide(call, True)


@route(bp, "/stores/{store_id}/live-sessions/{session_id}/reject", "POST",
       auth=STORE_MANAGER, response=schemas.SESSION,
       error_codes=["conflict", "live_session_over"],
       summary="Reject a guide's live session: it never goes live")
def reject_session(call):
    return _decide(call, False)
