import io
import json
import os
from pathlib import Path

import pytest
import requests

from tests.conftest import JSON, STORE_A, body_of, new_staff


def _decode_qr(image):
    import zxingcpp
    from PIL import Image

    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(image)))]


def _codes_generated(sandbox_url):
    return requests.get(f"{sandbox_url}/__sandbox__/stats", timeout=5).json()[
        "wxacodes_generated"]


def test_a_guide_shares_a_product_and_the_code_is_fetched_once_and_kept_as_a_file(
        client, sandbox_url):
    from chalicelib.guides.models import ShareLink

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

    first = client.http.get(link["code_url"], headers={"Accept": "image/jpeg"})
    second = client.http.get(link["code_url"], headers={"Accept": "image/jpeg"})

    assert first.status_code == second.status_code == 200
    assert first.headers["Content-Type"] == "image/jpeg"
    assert first.body == second.body and _decode_qr(first.body) == [link["scene"]]
    assert _codes_generated(sandbox_url) - before == 1
    # Clients built on the code's first address (code.png) get the same image.
    first_address = client.http.get(link["code_url"].replace("code.jpg", "code.png"),
                                    headers={"Accept": "image/png"})
    assert (first_address.status_code, first_address.body) == (200, first.body)
    assert _codes_generated(sandbox_url) - before == 1
    kept = Path(os.environ["CODE_IMAGES_DIR"]) / "codes" / f"{link['scene']}.jpg"
    assert kept.read_bytes() == first.body
    item = ShareLink._get_connection().get_item(link["scene"])["Item"]
    assert set(item) == {"scene", "guide_id", "store_id", "product_id", "page", "created_at"}
    wxacode = requests.get(f"{sandbox_url}/__sandbox__/wxacodes", timeout=5).json()[-1]
    assert (wxacode["scene"], wxacode["page"], wxacode["check_path"],
            wxacode["env_version"]) == (link["scene"], "pages/product/index", True, "release")


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


def test_a_trial_builds_code_opens_a_page_the_release_lacks(client, sandbox_url, monkeypatch):
    """WeChat checks a release's pages (41030 for one it lacks); a trial's it cannot."""
    guide, _ = new_staff(client, "guide", STORE_A)
    control = f"{sandbox_url}/__sandbox__/miniprogram"
    released = requests.get(f"{control}/pages", timeout=5).json()["pages"]
    links = [body_of(client.http.post("/guides/me/links", headers={**guide, **JSON},
                                      body="{}")) for _ in range(2)]
    requests.post(f"{control}/release", timeout=5,
                  json={"pages": [page for page in released if page != "pages/store/index"]})
    try:
        refused = client.http.get(links[0]["code_url"], headers={"Accept": "image/jpeg"})
        monkeypatch.setenv("WECHAT_MINIPROGRAM_VERSION", "trial")
        trial = client.http.get(links[1]["code_url"], headers={"Accept": "image/jpeg"})
    finally:
        requests.post(f"{control}/release", json={"pages": released}, timeout=5)

    assert refused.status_code == 502
    assert body_of(refused)["error"]["code"] == "wechat_unavailable"
    assert trial.status_code == 200, trial.body
    assert _decode_qr(trial.body) == [links[1]["scene"]]
    wxacode = requests.get(f"{sandbox_url}/__sandbox__/wxacodes", timeout=5).json()[-1]
    assert (wxacode["check_path"], wxacode["env_version"]) == (False, "trial")
