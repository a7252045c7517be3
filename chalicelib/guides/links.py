"""Share links: a guide shares their store or a product; the link's scene (short, as WeChat
requires) names the guide, the store and the product, and its mini-program code is fetched
from WeChat once and kept."""
import secrets

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError
from chalicelib.guides.models import ShareLink

STORE_PAGE, PRODUCT_PAGE = "pages/store/index", "pages/product/index"
_SCENE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
SCENE_LENGTH = 10  # 32^10 scenes, within WeChat's 32 characters


def link_view(link):
    return {"scene": link.scene, "guide_id": link.guide_id, "store_id": link.store_id,
            "product_id": link.product_id, "page": link.page,
            "code_url": f"/links/{link.scene}/code.png"}


def create(guide, product_id=None, clock=system_clock):
    if product_id:
        from chalicelib.catalog.models import Product

        try:
            Product.get(product_id)
        except DoesNotExist:
            raise DomainError("not_found", f"No product {product_id}.") from None
    while True:
        link = ShareLink("".join(secrets.choice(_SCENE_ALPHABET) for _ in range(SCENE_LENGTH)),
                         guide_id=guide.member_id, store_id=guide.store_id,
                         product_id=product_id, page=PRODUCT_PAGE if product_id else STORE_PAGE,
                         created_at=clock.now())
        try:
            link.save(condition=ShareLink.scene.does_not_exist())
            return link_view(link)
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise  # otherwise: the scene was taken, draw another


def resolve(scene):
    try:
        return ShareLink.get(scene)
    except DoesNotExist:
        raise DomainError("not_found", "No such link.") from None


def mini_program_code(scene, wechat):
    """The link's code PNG: from WeChat the first time, from the table after that."""
    link = resolve(scene)
    if link.code_png is None:
        png = wechat.mini_program_code(link.scene, link.page)
        link.update(actions=[ShareLink.code_png.set(png)])
        return png
    return link.code_png
