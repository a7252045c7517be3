import requests


def test_seeding_twice_writes_nothing_the_second_time_and_keeps_changes(local_services):
    from chalicelib.catalog.models import Sku, Store, StoreStock
    from devtools.seed import STORES, seed_demo_brand

    seed_demo_brand()
    stock = StoreStock.get("store-jingan", "p-oolong-250g")
    stock.update(actions=[StoreStock.quantity.set(stock.quantity - 3)])

    assert seed_demo_brand() == 0
    assert StoreStock.get("store-jingan", "p-oolong-250g").quantity == stock.quantity
    assert all(Store.get(store_id).city == "上海" for store_id, *_ in STORES)
    assert len([sku for sku in Sku.batch_get([f"p-mango-{s}" for s in ("100g", "300g")])]) == 2


def test_one_access_token_serves_every_container(local_services):
    """Two adapters stand for two Lambda containers: only the first fetches a token."""
    from chalicelib.config import settings
    from chalicelib.wechat.wechatpy_adapter import WeChatPyMiniProgram

    stats = f"{local_services['sandbox']}/__sandbox__/stats"
    before = requests.get(stats, timeout=5).json()["access_tokens_issued"]
    containers = [WeChatPyMiniProgram(settings.wechat_app_id, lambda: settings.wechat_app_secret,
                                      settings.wechat_api_base) for _ in range(2)]

    tokens_seen = {container.client.access_token for container in containers}

    assert len(tokens_seen) == 1
    assert requests.get(stats, timeout=5).json()["access_tokens_issued"] - before <= 1
