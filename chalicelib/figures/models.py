"""The retail figures' items: counters by period and scope, each member's claims of a month,
and the receipts of the batches that added to the counters (figures/feed.py says how)."""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.db.attributes import CountAttribute
from chalicelib.db.base import Model, TableMeta

class Figure(Model):
    """The counters of one period and one scope. period: a day "YYYY-MM-DD" or a month
    "YYYY-MM" (Asia/Shanghai); scope: "b" (the brand), "s:<store>", "c:<channel>",
    "sc:<store>:<channel>", "g:<guide>", "gc:<guide>:<channel>", the guide's in a store
    "sg:<store>:<guide>" and "sgc:<store>:<guide>:<channel>", "k:<kind>:<campaign>", each
    as scope_key has it; traffic's counters are spread over shards of their scope
    (figures/traffic.py). A report queries a period's partition for the scopes it asks
    about: its cost follows the periods and scopes, never the orders."""

    class Meta(TableMeta):
        table = "figures"

    period = UnicodeAttribute(hash_key=True)
    scope = UnicodeAttribute(range_key=True)
    store_id = UnicodeAttribute(null=True)  # a guide's store, for a store's guide ranking
    orders = CountAttribute()
    gmv_fen = CountAttribute()
    refunds = CountAttribute()
    refunded_fen = CountAttribute()
    units = CountAttribute()
    coupon_fen = CountAttribute()
    points_fen = CountAttribute()
    store_visits = CountAttribute()
    product_views = CountAttribute()
    share_opens = CountAttribute()
    logins = CountAttribute()
    live_entries = CountAttribute()
    new_members_wechat = CountAttribute()
    new_members_imported = CountAttribute()
    visitors = CountAttribute()
    buyers = CountAttribute()
    new_buyers = CountAttribute()
    repeat_buyers = CountAttribute()
    valid_members = CountAttribute()
    # a cohort's ("ltv:YYYY-MM"): its members, and their net GMV within N days of their first
    cohort_members = CountAttribute()
    net_30d_fen = CountAttribute()
    net_90d_fen = CountAttribute()
    net_180d_fen = CountAttribute()
    net_365d_fen = CountAttribute()


class Activity(Model):
    """What one member did in one month (Asia/Shanghai), as claims: attributes named
    "<kind>|…", each set once, by whoever writes it first (if_not_exists), so whatever
    delivers an order twice, late or out of order, one contribution owns each fact:
    - "c|<contribution>" → the batch token that counts it, "<token>@<epoch s>";
    - "b|<period>|<scope>" → the contribution that made the member a buyer there (the day's
      period is "dNN", the month's "m"; scope and contribution shortened, feed.short);
    - "r|<period>|<scope>" → the contribution that made them a repeat buyer there;
    - "v|<period>|<scope>" → the visit (or order) that made them a visitor there."""

    class Meta(TableMeta):
        table = "figure-claims"

    member_id = UnicodeAttribute(hash_key=True)
    month = UnicodeAttribute(range_key=True)  # YYYY-MM
    # and the claims, written and read by figures/feed.py through the table's connection


class Receipt(Model):
    """A batch's counters were added: written in the same transaction as its additions, so
    a batch whose claims exist without a receipt never added anything (figures/feed.py)."""

    class Meta(TableMeta):
        table = "figure-receipts"

    token = UnicodeAttribute(hash_key=True)
    contributions = NumberAttribute()
