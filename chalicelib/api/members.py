from chalice import Blueprint

from chalicelib.core.pagination import PAGE_QUERY
from chalicelib.api.routing import ADMIN, MEMBER, PUBLIC, route, staff
from chalicelib.api.schemas import members as schemas

bp = Blueprint(__name__)

STORE_STAFF = staff("store_manager", "clerk", "guide", store_param="store_id")
STORE_MANAGER = staff("store_manager", store_param="store_id")


def _page(query):
    return int(query.get("limit", 20)), query.get("cursor")


@route(bp, "/auth/login", "POST", auth=PUBLIC, body=schemas.LOGIN, response=schemas.SESSION,
       summary="Sign in with a wx.login() code",
       error_codes=["wechat_code_invalid", "member_blocked"])
def login(call):
    from chalicelib import wechat
    from chalicelib.members import accounts as services

    return services.login(call.body["code"], wechat.mini_program())


@route(bp, "/auth/refresh", "POST", auth=PUBLIC, body=schemas.REFRESH, response=schemas.SESSION,
       summary="Trade a refresh token for new tokens (it works once: a reused one ends the "
               "session)", error_codes=["unauthorized", "member_blocked"])
def refresh(call):
    from chalicelib.members import accounts as services

    return services.refresh(call.body["refresh_token"])


@route(bp, "/auth/logout", "POST", auth=MEMBER, response=schemas.SIGNED_OUT,
       summary="Sign out: end the session of this access token and its refresh token")
def logout(call):
    from chalicelib.api.routing import bearer_token
    from chalicelib.members import accounts as services

    return services.logout(bearer_token(call.headers))


@route(bp, "/members/me", auth=MEMBER, response=schemas.MEMBER, summary="The signed-in member")
def me(call):
    from chalicelib.members import accounts as services

    return services.member_view(services.get_member(call.member_id))


@route(bp, "/members/me/phone", "POST", auth=MEMBER, body=schemas.PHONE_BIND,
       response=schemas.SESSION, error_codes=["wechat_code_invalid", "phone_taken"],
       summary="Bind the phone number from the getPhoneNumber button (merges an imported member)")
def bind_phone(call):
    from chalicelib import wechat
    from chalicelib.members import accounts as services

    return services.bind_phone(call.member_id, call.body["code"], wechat.mini_program())


@route(bp, "/members/me/store", "PUT", auth=MEMBER, body=schemas.STORE_CHOICE,
       response=schemas.MEMBER, summary="Choose the store I buy from")
def choose_store(call):
    from chalicelib.members import accounts as services

    return services.choose_store(call.member_id, call.body["store_id"])


@route(bp, "/members/me/points", auth=MEMBER, query=PAGE_QUERY,
       response=schemas.POINTS_PAGE, summary="My points balance and ledger, newest first")
def my_points(call):
    from chalicelib.members import accounts as services

    return services.points_page(call.member_id, *_page(call.query))


@route(bp, "/staff/invites/claim", "POST", auth=MEMBER, body=schemas.CLAIM,
       response=schemas.STAFF, error_codes=["conflict"],
       summary="Claim a staff invite code with my WeChat account")
def claim_invite(call):
    from chalicelib.members import staff as staff_service

    return staff_service.claim(call.body["code"], call.member_id)


@route(bp, "/staff/me", auth=MEMBER, response=schemas.STAFF, summary="My staff role, if any")
def my_staff_role(call):
    from chalicelib.errors import DomainError
    from chalicelib.members import staff as staff_service

    record = staff_service.staff_of(call.member_id)
    if record is None:
        raise DomainError("not_found", "You have no staff role.")
    return staff_service.staff_view(record)


@route(bp, "/admin/staff/invites", "POST", auth=ADMIN, body=schemas.INVITE,
       response=schemas.INVITATION, status=201, summary="Invite a staff member (one-time code)")
def invite_staff(call):
    from chalicelib.members import staff as staff_service

    return staff_service.invite(call.body["role"], call.body.get("store_id"),
                                call.body.get("name"), call.member_id)


@route(bp, "/admin/staff/{member_id}", "DELETE", auth=ADMIN, query=schemas.STAFF_REMOVAL_QUERY,
       response=schemas.STAFF_REMOVED, error_codes=["last_admin"],
       summary="End a staff member's role; a guide's customers go to another guide of the "
               "store or to the store (safe to repeat)")
def remove_staff(call):
    from chalicelib.guides import bindings
    from chalicelib.members import staff as staff_service

    to_guide_id = call.query.get("to_guide_id")
    ended = staff_service.remove(call.params["member_id"], to_guide_id)
    moved = bindings.hand_over(ended.member_id, to_guide_id, call.member_id) \
        if ended.role == staff_service.GUIDE else 0
    return {**staff_service.staff_view(ended), "ended_at": ended.ended_at.isoformat(),
            "customers_moved": moved, "to_guide_id": to_guide_id}


@route(bp, "/stores/{store_id}/staff", auth=STORE_MANAGER, response=schemas.STAFF_LIST,
       summary="A store's staff")
def store_staff(call):
    from chalicelib.members import staff as staff_service

    return {"staff": staff_service.store_staff(call.params["store_id"])}


@route(bp, "/stores/{store_id}/members/{member_id}/tags", "POST", auth=STORE_STAFF,
       body=schemas.TAG_BODY, response=schemas.MEMBER_FOR_STAFF,
       summary="Tag a member of this store")
def tag_store_member(call):
    from chalicelib.members import accounts as services, tags

    member = services.member_of_store(call.params["member_id"], call.params["store_id"])
    tags.add_manual_tag(member, call.body["tag"])
    return services.member_view_for_staff(services.get_member(member.member_id), call.staff)


@route(bp, "/admin/members", auth=ADMIN, query=schemas.MEMBER_SEARCH_QUERY,
       response=schemas.MEMBER_SEARCH, summary="Find members by phone, or by tags (and store)")
def search_members(call):
    from chalicelib.errors import DomainError
    from chalicelib.members import accounts as services

    if "phone" in call.query:
        return services.find_by_phone(call.query["phone"], call.staff)
    if "tags" not in call.query:
        raise DomainError("validation_error", "Give a phone, or tags (comma-separated).")
    tag_list = [tag.strip() for tag in call.query["tags"].split(",") if tag.strip()]
    if not tag_list:
        raise DomainError("validation_error", "Give at least one tag.")
    return services.find_by_tags(tag_list, call.query.get("store_id"), *_page(call.query),
                                 call.staff)


@route(bp, "/admin/members/{member_id}", auth=ADMIN, response=schemas.MEMBER_FOR_STAFF,
       summary="One member, as staff see them")
def member_for_admin(call):
    from chalicelib.members import accounts as services

    return services.member_view_for_staff(services.get_member(call.params["member_id"]),
                                          call.staff)


@route(bp, "/admin/members/{member_id}/block", "POST", auth=ADMIN,
       response=schemas.MEMBER_FOR_STAFF, error_codes=["conflict"],
       summary="Block a member: their sessions end now; no sign-in until unblocked")
def block_member(call):
    from chalicelib.members import accounts as services

    return services.block(call.params["member_id"], call.staff)


@route(bp, "/admin/members/{member_id}/unblock", "POST", auth=ADMIN,
       response=schemas.MEMBER_FOR_STAFF, summary="Let a blocked member sign in again")
def unblock_member(call):
    from chalicelib.members import accounts as services

    return services.unblock(call.params["member_id"], call.staff)


@route(bp, "/admin/members/{member_id}/points", "POST", auth=ADMIN,
       body=schemas.POINTS_ADJUSTMENT, response=schemas.POINTS_ENTRY, status=201,
       error_codes=["insufficient_points", "conflict"], summary="Adjust a member's points")
def adjust_points(call):
    from chalicelib.members import accounts as services

    return services.adjust_points(call.params["member_id"], call.body["delta"],
                                  call.body["reason"], call.body["adjustment_id"],
                                  call.member_id)


@route(bp, "/admin/members/{member_id}/tags", "POST", auth=ADMIN, body=schemas.TAG_BODY,
       response=schemas.MEMBER_FOR_STAFF, summary="Tag a member")
def tag_member(call):
    from chalicelib.members import accounts as services, tags

    tags.add_manual_tag(services.get_member(call.params["member_id"]), call.body["tag"])
    return services.member_view_for_staff(services.get_member(call.params["member_id"]),
                                          call.staff)


@route(bp, "/admin/members/{member_id}/tags/{tag}", "DELETE", auth=ADMIN,
       response=schemas.MEMBER_FOR_STAFF, summary="Remove a manual tag")
def untag_member(call):
    from chalicelib.members import accounts as services, tags

    tags.remove_manual_tag(services.get_member(call.params["member_id"]), call.params["tag"])
    return services.member_view_for_staff(services.get_member(call.params["member_id"]),
                                          call.staff)


@route(bp, "/admin/members/import", "POST", auth=ADMIN, body=schemas.IMPORT_CSV,
       content_type="text/csv", response=schemas.IMPORT_REPORT, error_codes=["payload_too_large"],
       summary="Import members from a POS/CRM CSV export (idempotent)")
def import_members(call):
    from chalicelib.members import importer

    return importer.import_members_upload(call.body)


@route(bp, "/admin/loyalty-program", auth=ADMIN, response=schemas.PROGRAM,
       summary="The loyalty program: levels, points rates and caps")
def loyalty_program(call):
    from chalicelib.members import program

    return program.current()


@route(bp, "/admin/loyalty-program", "PUT", auth=ADMIN, body=schemas.PROGRAM,
       response=schemas.PROGRAM, summary="Replace the loyalty program")
def replace_loyalty_program(call):
    from chalicelib.members import program

    return program.replace(call.body, call.member_id)
