"""The figures' names and how a scope is keyed (light: the API's schemas import it)."""

# The figures a counter item keeps (visitors, buyers … are distinct members).
SUMS = ("orders", "gmv_fen", "refunds", "refunded_fen", "units", "coupon_fen", "points_fen",
        "store_visits", "product_views", "share_opens", "logins", "live_entries",
        "new_members_wechat", "new_members_imported")
# valid members: buyers with a second paid order in the period who could be reached then
DISTINCT = ("visitors", "buyers", "new_buyers", "repeat_buyers", "valid_members")
COUNTERS = SUMS + DISTINCT
ALL_TIME = "all"  # the period of the members ever counted new (reports.members' total)
# The kinds of campaign scopes, "k:<kind>:<id>": the campaign an order was paid in.
CAMPAIGNS = ("flash_sale", "group_buy", "live", "coupon")


def scope_key(scope, shard=None):
    """The range key of a scope's counters ("s:<store>#"), or of one of its traffic shards
    ("s:<store>#t3"): a scope's items all begin with "<scope>#"."""
    return f"{scope}#" if shard is None else f"{scope}#t{shard}"
