"""Channels: the ways an order is bought (the mall, a flash sale, a group-buy, a live room,
and later ones). The kernel places, pays, closes and refunds every order the same way; a
channel brings only what differs, as an object with these attributes and methods:

    name                                     the order's `channel`
    attempts                                 how many times placing tries against lost races
    unkeyed                                  request fields the Idempotency-Key does not stand
                                             for (a live token: a retry may carry a fresh one)
    quote(member_id, request, now) -> Quote  its reads, rules and the one pricing engine
    takes(order, quote) -> [takes.Take]      the stock it takes, each item by one conditional
                                             update before the order is written
                                             (orders/takes.py), with the refusal when it has
                                             too few (None: plan again)
    reserve_in(writes, order, quote, now)    its claims in the order's transaction, each named
                                             (none: the order is one conditional put)
    refusal(cancelled, order, quote)         the shopper's answer when one of its claims'
                                             conditions failed (cancelled: db.base's
                                             Cancellation, read by name; None: try again)
    replan(quote, now) -> Quote | None       after a lost race: the quote to try again with
                                             (None: quote afresh); raises the refusal when
                                             nothing is left to take
    give_back_in(writes, order, reason, now) what an unpaid order held, in its closing
                                             transaction
    return_in(writes, order, refund, now)    what a settled refund gives back (units not
                                             handed over, the coupon, the points)
    restock_in(writes, order, refund, by, reason, now)
                                             the goods of a refund that came back (staff
                                             confirmed them), as stock again
    before_refund(order)                     what a shopper's refund of a paid order undoes
                                             first (a group-buy's seat)

Channels are registered by name in chalicelib/wiring.py (the one place), and resolved on
first use, so a cold start imports no channel it does not serve."""
from dataclasses import dataclass, field

_resolvers = {}
_resolved = {}


@dataclass
class Quote:
    """What a channel's quote gives the kernel: the priced breakdown (pricing.price), the
    store and where the stock comes from, the buyer's openid (WeChat pays through it) and the
    guide the order earns for, the minutes to pay (None: the shop's default), and fields the
    order keeps for the channel (flash_sale_id, group_id, …); `plan` is the channel's own
    (the member read, the shards to take from, the group to open or join)."""

    breakdown: dict
    store_id: str
    stock_from: str
    openid: str
    guide_id: str = None
    pay_minutes: int = None
    order_fields: dict = field(default_factory=dict)
    plan: object = None


def register(name, resolve):
    """resolve() returns the channel object; called once, on the first order of that name."""
    _resolvers[name] = resolve


def of(name):
    channel = _resolved.get(name)
    if channel is None:
        if name not in _resolvers:
            raise LookupError(f"no channel {name!r} is registered (chalicelib/wiring.py)")
        channel = _resolved[name] = _resolvers[name]()
    return channel
