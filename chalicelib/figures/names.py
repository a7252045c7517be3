"""The figures' names and how a scope is keyed (light: the API's schemas import it)."""

# The figures a counter item keeps (visitors, buyers … are distinct members).
SUMS = ("orders", "gmv_fen", "refunds", "refunded_fen", "units", "coupon_fen", "points_fen",
        "store_visits", "product_views", "share_opens")
DISTINCT = ("visitors", "buyers", "new_buyers", "repeat_buyers")
COUNTERS = SUMS + DISTINCT
# The kinds of campaign scopes, "k:<kind>:<id>": the campaign an order was paid in.
CAMPAIGNS = ("flash_sale", "group_buy", "live", "coupon")


def scope_key(scope, shard=None):
    """The range key of a scope's counters ("s:<store>#"), or of one of its traffic shards
    ("s:<store>#t3"): a scope's items all begin with "<scope>#"."""
    return f"{scope}#" if shard is None else f"{scope}#t{shard}"
