"""Buying in a flash sale: POST /flash-sales/{id}/orders, placed by the kernel
(orders/placing.py) through the flash_sale channel.

The clock decides whether the sale is on (a sale whose units the window job has not moved
yet when it starts moves them itself). The channel's takes: units from the sale's shards,
each on condition it has them, outside any transaction (orders/takes.py); its item in the
order's transaction: the member's units in the sale on condition they stay within the limit
("flash_purchases"). A buyer starts at a random shard with units and takes what it lacks from
the next. When every shard is empty the answer is "sold out" after reads only: it costs no
writes.
"""
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from chalicelib.promotions import listings as promotions
from chalicelib.promotions.channel import HotStockChannel, Takes, hot_takes, takes_from
from chalicelib.orders import placing
from chalicelib.orders.channels import Quote
from chalicelib.config import settings
from chalicelib.core.clock import FixedClock
from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError
from chalicelib.promotions.flash.models import FlashPurchases, FlashSale

PURCHASES = "flash_purchases"  # the member's units in the sale, in the order's transaction


def _live_sale(sale_id, now):
    from chalicelib.promotions.flash import sales, window

    try:
        sale = FlashSale.get(sale_id)
    except DoesNotExist:
        raise DomainError("not_found", f"No flash sale {sale_id}.") from None
    if now < sale.starts_at:
        raise DomainError("flash_sale_not_live", "This sale has not started.")
    if now >= sale.closes_at:
        raise DomainError("flash_sale_not_live", "This sale is over.")
    if sale.stocked is None:
        sale = window.run_steps(sales.get(sale_id), FixedClock(now))
    return sale


def _over_limit(sale):
    return DomainError("flash_sale_limit",
                       f"At most {sale.per_member_limit} per member in this sale.")


def _bought(sale, member_id):
    """The member's units in the sale as last written (the order's transaction holds them to
    the limit; this spares the shards a take for an order that would be refused)."""
    try:
        return FlashPurchases.get(f"{sale.sale_id}#{member_id}").units
    except DoesNotExist:
        return 0


@dataclass
class _Plan(Takes):
    sale: FlashSale = None


class FlashSaleChannel(HotStockChannel):
    name = "flash_sale"

    def quote(self, member_id, request, now):
        from chalicelib.members.reading import get_member

        sale = _live_sale(request["flash_sale_id"], now)
        if sale.stores and request["store_id"] not in sale.stores:
            raise DomainError("validation_error", "This sale does not run in this store.")
        quantity = request["quantity"]
        if _bought(sale, member_id) + quantity > sale.per_member_limit:
            raise _over_limit(sale)  # before any unit is taken for it
        pool = f"{sale.sale_id}#{request['sku_id']}"
        plan = _Plan(pool, sale.shard_count, quantity,
                     takes_from(pool, sale.shard_count, quantity), sale)
        member = get_member(member_id)
        line = promotions.priced_line(sale.items, request["sku_id"], quantity,
                                      "flash_price_fen", "sale")
        breakdown = self.price(member, line, request["store_id"],
                               promotions.fulfilment_for(sale.stock_from, request), now)
        return Quote(breakdown, request["store_id"], sale.stock_from, member.openid,
                     member.guide_id, settings.flash_pay_minutes,
                     {"flash_sale_id": sale.sale_id, "hot_takes": hot_takes(plan)}, plan)

    def reserve_in(self, writes, order, quote, now):
        plan = quote.plan
        bought = FlashPurchases.units
        writes.update(FlashPurchases(f"{plan.sale.sale_id}#{order.member_id}"),
                      actions=[bought.add(plan.quantity)],
                      condition=bought.does_not_exist()
                      | (bought <= plan.sale.per_member_limit - plan.quantity),
                      name=PURCHASES)

    def refusal(self, cancelled, order, quote):
        """Over the member's limit in the sale; a shard that ran out is planned again."""
        return _over_limit(quote.plan.sale) if cancelled.failed(PURCHASES) else None

    def give_back_in(self, writes, order, reason, now):
        """An unpaid flash order's units: back to their shard while the sale has not given
        its units back (a condition on the sale), else to regular stock; and the member's
        limit."""
        sale = FlashSale.get(order.flash_sale_id, consistent_read=True)
        line = order.breakdown["lines"][0]
        self.give_back_units_in(writes, order, sale, sale.sale_id,
                                f"{sale.sale_id}#{line['sku_id']}")
        writes.update(FlashPurchases(f"{sale.sale_id}#{order.member_id}"),
                      actions=[FlashPurchases.units.add(-line["quantity"])], name=PURCHASES)


FLASH_SALE = FlashSaleChannel()


def buy(member_id, sale_id, idempotency_key, request, clock=system_clock):
    """Places the flash-sale order once per Idempotency-Key: (order, created)."""
    return placing.place(FLASH_SALE, member_id, idempotency_key,
                         {"flash_sale_id": sale_id, **request}, clock)
