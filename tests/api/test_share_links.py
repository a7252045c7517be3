import io
import json

import pytest
import requests

from tests.conftest import JSON, STORE_A, body_of, new_staff


def _decode_qr(png):
    import zxingcpp
    from PIL import Image

    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def _codes_generated(sandbox_url):
    return requests.get(f"{sandbox_url}/__sandbox__/stats", timeout=5).json()[
        "wxacodes_generated"]


def test_a_guide_shares_a_product_and_the_code_is_fetched_once(client, sandbox_url):
    guide, session = new_staff(client, "guide", STORE_A)
    created = client.http.post("/guides/me/links", headers={**guide, **JSON},
                               body=json.dumps({"product_id": "p-oolong"}))
    assert created.status_code == 201
    link = body_of(created)
    assert len(link["scene"]) <= 32
    resolved = body_of(client.http.get(f"/links/{link['scene']}"))
    assert (resolved["guide_id"], resolved["store_id"], resolved["product_id"]) == (
        session["member"]["member_id"], STORE_A, "p-oolong")
    before = _codes_generated(sandbox_url)

    first = client.http.get(link["code_url"], headers={"Accept": "image/png"})
    second = client.http.get(link["code_url"], headers={"Accept": "image/png"})

    assert first.status_code == second.status_code == 200
    assert first.headers["Content-Type"] == "image/png"
    assert first.body == second.body and _decode_qr(first.body) == [link["scene"]]
    assert _codes_generated(sandbox_url) - before == 1


def test_a_scene_over_32_characters_is_never_sent_to_wechat(local_services):
    from chalicelib import wechat

    with pytest.raises(ValueError):
        wechat.mini_program().mini_program_code("x" * 33, "pages/store/index")


def test_only_guides_make_links_and_unknown_scenes_are_404(client, admin):
    clerk, _ = new_staff(client, "clerk", STORE_A)
    for headers in (admin, clerk):
        assert client.http.post("/guides/me/links", headers={**headers, **JSON},
                                body="{}").status_code == 403
    assert client.http.get("/links/nosuchscene").status_code == 404
    assert client.http.post("/guides/me/links", headers={**new_staff(client, "guide", STORE_A)[0],
                                                         **JSON},
                            body=json.dumps({"product_id": "nope"})).status_code == 404
