"""Share links: a guide shares their store or a product; the link's scene (short, as WeChat
requires) names the guide, the store and the product, and its mini-program code is fetched
from WeChat once and kept (guides/code_images)."""
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
            "code_url": f"/links/{link.scene}/code.jpg"}


def create(guide, product_id=None, clock=system_clock):
    if product_id:
        from chalicelib.catalog.products import get_product

        get_product(product_id)
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
    """The link's code JPEG: from WeChat the first time, kept after that."""
    from chalicelib.guides import code_images

    link = resolve(scene)
    image = code_images.load(link.scene)
    if image is None:
        image = wechat.mini_program_code(link.scene, link.page)
        code_images.save(link.scene, image)
    return image
