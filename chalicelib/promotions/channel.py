"""What the promotions' channels (flash sale, live room, group-buy) do alike, as bases for
their channel objects (orders/channels.py).

A promotion's order takes no coupon and no points, and its units, once refunded, go back to
regular stock (the order's stock_from): a sale's or a session's shards may be gone by then.
A flash sale's and a live room's units come from hot-stock shards (promotions/hotstock.py):
a lost race plans the takes again from what the shards hold, and is sold out when they hold
too little, after reads only.
"""
from dataclasses import dataclass, replace

from chalicelib.errors import DomainError
from chalicelib.promotions import hotstock


class PromotionChannel:
    unkeyed = ()

    def price(self, member, line, store_id, fulfilment, now):
        """The promotion's line through the one pricing engine, at the member's level."""
        from chalicelib.members import loyalty
        from chalicelib.members import program as loyalty_program
        from chalicelib.orders import pricing

        program = loyalty_program.current()
        return pricing.price([line], level=loyalty.current_level(member, program),
                             program=program, store_id=store_id, channel=self.name,
                             fulfilment=fulfilment, now=now)

    def return_in(self, writes, order, refund, now):
        """Units that never left the store go back to stock."""
        if refund.goods_return is None:
            self.restock_in(writes, order, refund, refund.requested_by,
                            f"refund {refund.refund_id}", now)

    def restock_in(self, writes, order, refund, by, reason, now):
        from chalicelib.catalog import stock

        stock.put_back_lines_in(writes, order.stock_from, refund.lines, reason, by, now)

    def before_refund(self, order):
        """Nothing to undo before this promotion's refund."""


@dataclass
class Takes:
    """The units a hot-stock order takes: from which pool (of shard_count shards), and how
    many from each shard. A channel's plan may add its own fields."""

    pool: str
    shard_count: int
    quantity: int
    takes: dict


def sold_out():
    return DomainError("sold_out", "Sold out.")


def takes_from(pool, shard_count, quantity):
    """{shard: units} from the pool's shards as last read; sold out if they hold too little."""
    takes = hotstock.plan_takes(pool, shard_count, quantity)
    if not takes:
        raise sold_out()
    return takes


def hot_takes(plan):
    """The takes as the order keeps them (its hot_takes: shard number as text → units)."""
    return {str(shard): units for shard, units in plan.takes.items()}


class HotStockChannel(PromotionChannel):
    attempts = 30

    def takes(self, order, quote):
        """The planned units from each shard; a shard with too few means planning again."""
        return hotstock.order_takes(quote.plan.pool, quote.plan.takes)

    def replan(self, quote, now):
        """A shard ran out or was raced for: take from the shards as they are now."""
        plan = quote.plan
        plan = replace(plan, takes=takes_from(plan.pool, plan.shard_count, plan.quantity))
        return replace(quote, order_fields={**quote.order_fields, "hot_takes": hot_takes(plan)},
                       plan=plan)

    @staticmethod
    def give_back_units_in(writes, order, promotion, key, pool):
        """An unpaid order's units: back to their shards while the promotion (a sale, a
        session, read consistently) has not given its units back, on that condition in the
        same transaction; else to regular stock."""
        from chalicelib.catalog import stock

        line = order.breakdown["lines"][0]
        if promotion.returned is None:
            model = type(promotion)
            writes.condition_check(model, key, condition=model.returned.does_not_exist(),
                                   name="promotion")
            hotstock.put_back_in(writes, pool, order.hot_takes)
        else:
            stock.give_back_for_order_in(writes, order.stock_from, [line])
