from chalice import Blueprint

from chalicelib.core.routing import MEMBER, PUBLIC, route
from chalicelib.members import schemas

bp = Blueprint(__name__)


@route(bp, "/auth/login", "POST", auth=PUBLIC, body=schemas.LOGIN, response=schemas.SESSION,
       summary="Sign in with a wx.login() code", error_codes=["wechat_code_invalid"])
def login(call):
    from chalicelib import wechat
    from chalicelib.members import services

    return services.login(call.body["code"], wechat.mini_program())


@route(bp, "/auth/refresh", "POST", auth=PUBLIC, body=schemas.REFRESH, response=schemas.SESSION,
       summary="Trade a refresh token for new tokens", error_codes=["unauthorized"])
def refresh(call):
    from chalicelib.members import services

    return services.refresh(call.body["refresh_token"])


@route(bp, "/members/me", auth=MEMBER, response=schemas.MEMBER, summary="The signed-in member")
def me(call):
    from chalicelib.members import services

    return services.member_view(services.get_member(call.member_id))
