"""Stock taken outside the order's transaction (orders/takes.py): a unit taken for an order
that is then not written comes back — at once when the placer knows, or from the takes job
within minutes when the placer died in between — and never twice, and never while an order
holds it."""
from datetime import datetime, timedelta, timezone

import pytest
from pynamodb.exceptions import DoesNotExist, TransactWriteError

from tests.api.test_checkout import _id, _member, _sku
from tests.api.test_flash_sales import _buy, _sale, _shards_left
from tests.conftest import STORE_A
from tests.faults import inject, touches


def _drain():
    import app as yutang
    from devtools import streams

    streams.drain(yutang.app)


def _run_takes_job(minutes_later):
    """The takes job, run minutes_later from now (having last covered the minute before)."""
    from chalicelib.core.clock import FixedClock
    from chalicelib.db import cursors
    from chalicelib.orders import takes

    now = datetime.now(timezone.utc)
    cursors.cover(takes.JOB, now - timedelta(minutes=1), now)
    return takes.run_job(FixedClock(now + timedelta(minutes=minutes_later)))


def _order_exists(order_id_prefix_member, key):
    from chalicelib.orders.models import Order
    from chalicelib.orders.placing import order_id_for

    try:
        Order.get(order_id_for(f"{order_id_prefix_member}#{key}"), consistent_read=True)
        return True
    except DoesNotExist:
        return False


def _live_sale(units):
    from chalicelib.promotions.flash import window

    sku = _sku(stock=units)
    sale = _sale(sku, quantity=units, limit=2)
    window.run_steps(sale)
    return sale, sku


def _place_mall(member, sku, key, quantity=1):
    from chalicelib.mall.channel import MALL
    from chalicelib.orders import placing

    return placing.place(MALL, member, key,
                         {"store_id": STORE_A, "items": [{"sku_id": sku, "quantity": quantity}]})


@pytest.mark.parametrize("channel", ["flash_sale", "mall"])
def test_a_unit_taken_when_the_order_write_then_fails_comes_back_from_the_job(client, monkeypatch,
                                                                           channel):
    """The crash between: the unit is taken, the order's write fails and nobody is there to
    give it back. The stream sees a take without its order; the job gives it back after its
    grace, once."""
    from chalicelib.catalog.stock import current

    member, key = _member(), _id("key")
    if channel == "flash_sale":
        sale, sku = _live_sale(4)
        left = lambda: _shards_left(sale, sku)  # noqa: E731
        failing = inject(monkeypatch, "TransactWriteItems", touches("orders"))
        buy = lambda: _buy(member, sale, sku, key=key)  # noqa: E731
    else:
        sku = _sku(stock=4)
        left = lambda: current(STORE_A, sku)  # noqa: E731
        failing = inject(monkeypatch, "PutItem", touches("orders"))
        buy = lambda: _place_mall(member, sku, key)  # noqa: E731

    with pytest.raises(TransactWriteError) as failed:
        buy()
    assert len(failing) == 1 and failed.value.cause_response_code == "InternalServerError"
    monkeypatch.undo()
    assert left() == 3 and not _order_exists(member, key)  # taken, no order

    _drain()
    _run_takes_job(minutes_later=1)  # within the grace: a placer may still write its order
    assert left() == 3
    assert _run_takes_job(minutes_later=7) >= 1
    assert left() == 4
    _drain()
    _run_takes_job(minutes_later=8)
    assert left() == 4  # once


def test_a_unit_taken_for_a_refused_order_comes_back_at_once_and_only_once(client,
                                                                           monkeypatch):
    """The member's other order fills their limit in the sale between this order's quote and
    its transaction: the shard unit this one took is back before the refusal is answered,
    and the job, which the stream shows the take to, gives nothing more."""
    from chalicelib.errors import DomainError

    sale, sku = _live_sale(10)
    member = _member()
    _buy(member, sale, sku)
    inject(monkeypatch, "TransactWriteItems", touches("flash-purchases"),
           before=lambda: _buy(member, sale, sku))
    with pytest.raises(DomainError) as refused:
        _buy(member, sale, sku)
    monkeypatch.undo()
    assert refused.value.code == "flash_sale_limit"
    assert _shards_left(sale, sku) == 8
    _drain()
    _run_takes_job(minutes_later=7)
    assert _shards_left(sale, sku) == 8


def test_a_take_whose_order_is_written_after_the_stream_saw_it_is_never_given_back(
        client, monkeypatch):
    """The stream reads the take before the order lands (a slow placer): a suspect, which
    the job finds claimed by the order, and leaves."""
    from chalicelib.catalog.stock import current
    from chalicelib.orders.models import StockTake

    member, key, sku = _member(), _id("key"), _sku(stock=5)
    inject(monkeypatch, "PutItem", touches("orders"), before=_drain)
    order, created = _place_mall(member, sku, key, quantity=2)
    monkeypatch.undo()
    assert created and current(STORE_A, sku) == 3
    suspects = [take for take in StockTake.scan() if take.take_id.startswith(order.order_id)]
    assert [take.state for take in suspects] == ["suspect"]

    _run_takes_job(minutes_later=7)
    assert current(STORE_A, sku) == 3
    assert StockTake.get(suspects[0].take_id).state == "claimed"


def test_the_grace_outlasts_any_request():
    """The job gives a take back only when no placer can still write its order: the grace is
    longer than the API function may run."""
    import json
    from pathlib import Path

    from chalicelib.orders import takes

    config = json.loads((Path(__file__).parents[2] / ".chalice" / "config.json").read_text())
    timeouts = [config.get("lambda_timeout", 60)] + [
        stage.get("lambda_timeout", 0) for stage in config.get("stages", {}).values()]
    assert takes.GRACE > timedelta(seconds=max(timeouts) * 2)
