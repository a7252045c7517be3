"""Channels: the ways an order is bought (the mall, a flash sale, a group-buy, a live room,
and later ones). The kernel places, pays, closes and refunds every order the same way; a
channel brings only what differs, as an object with these methods:

    name                                     the order's `channel`
    quote(member, request, now) -> Quote     its reads, rules and the one pricing engine
    reserve_in(writes, order, quote, now)    its items in the order's transaction, each named
    refusal(cancellation, order, quote)      the shopper's answer when one of its items'
                                             conditions failed (None: read again and retry)
    replan(quote) -> Quote | None            after a lost race: the quote to try again with
                                             (None when nothing is left to take)
    give_back_in(writes, order, reason, now) what an unpaid order held, in its closing
                                             transaction
    return_in(writes, order, refund, now)    what a settled refund gives back (units not
                                             handed over, the coupon, the points)

Channels are registered by name in chalicelib/wiring.py (the one place), and resolved on
first use, so a cold start imports no channel it does not serve."""
from dataclasses import dataclass, field

_resolvers = {}
_resolved = {}


@dataclass
class Quote:
    """What a channel's quote gives the kernel: the priced breakdown (pricing.price), where
    the stock comes from, the minutes to pay, and fields the order keeps for the channel
    (flash_sale_id, group_id, …); `plan` is the channel's own (the shards to take from, the
    group to join)."""

    breakdown: dict
    stock_from: str
    pay_minutes: int
    order_fields: dict = field(default_factory=dict)
    request: dict = field(default_factory=dict)  # what the order records of the request
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
