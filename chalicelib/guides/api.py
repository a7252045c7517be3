from chalice import Blueprint

from chalicelib.core.routing import PUBLIC, Access, route
from chalicelib.guides import schemas

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


@route(bp, "/links/{scene}/code.png", auth=PUBLIC, produces="image/png",
       response={"type": "string", "format": "binary"},
       summary="The link's mini-program code (fetched from WeChat once, then kept)")
def link_code(call):
    from chalicelib import wechat
    from chalicelib.guides import links

    return links.mini_program_code(call.params["scene"], wechat.mini_program())
