"""Traffic: what the mini-program reports a shopper saw (a store, a product, a share they
opened), kept as counters of the day, and the day's and month's distinct visitors.

A call's events are counted together: for each store, one write to its day's counters and
one to the brand's, on one of SHARDS items by a hash of the member (a store's page views in
a flash sale go past one item's thousand writes a second); the month's too when this is the
member's first visit of the month. A visitor is claimed in the member's Activity as an
order's buyer is (figures/feed.py), so a member counts once a day and once a month however
many pages they open, and a paid order counts its buyer as a visitor if they were not one;
the month is read first, and written only when it lacks a claim (a member's second visit of
a day writes only the counters).
A failure between the claim and the counters loses that one visitor: traffic is not money."""
import uuid
import zlib
from collections import defaultdict

from chalicelib.core.clock import SHANGHAI
from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError

FIGURE_OF = {"store_visit": "store_visits", "product_view": "product_views",
             "share_open": "share_opens"}
SHARDS = 8
MOST_EVENTS = 50


def record(member_id, events, clock=system_clock):
    """Counts a call's events (each {"kind", "store_id", …}); unknown stores are refused
    before anything is counted. Returns how many were counted."""
    from chalicelib.catalog.stores import get_stores
    from chalicelib.figures import feed
    from chalicelib.figures.models import Figure
    from chalicelib.figures.names import scope_key

    store_ids = sorted({event["store_id"] for event in events})
    known = {store.store_id for store in get_stores(store_ids)}
    unknown = [store_id for store_id in store_ids if store_id not in known]
    if unknown:
        raise DomainError("not_found", f"No store {unknown[0]}.")
    local = clock.now().astimezone(SHANGHAI)
    day, month = local.strftime("%Y-%m-%d"), local.strftime("%Y-%m")
    visit = uuid.uuid4().hex[:8]
    scopes = ["b", *(f"s:{store_id}" for store_id in store_ids)]
    facts = {feed.fact_key("v", code, scope): (period, scope)
             for code, period in ((f"d{local:%d}", day), ("m", month)) for scope in scopes}
    known = feed.read_months([(member_id, month)]).get((member_id, month), {})
    claims = feed.claim(member_id, month, {key: visit for key in facts}, known, clock.now())
    additions = defaultdict(lambda: defaultdict(int))
    for event in events:
        for scope in ("b", f"s:{event['store_id']}"):
            additions[(day, scope)][FIGURE_OF[event["kind"]]] += 1
    for key, period_and_scope in facts.items():
        if claims.get(key) == visit:
            additions[period_and_scope]["visitors"] += 1
    shard = zlib.crc32(member_id.encode()) % SHARDS
    for (period, scope), amounts in additions.items():
        Figure(period, scope_key(scope, shard)).update(actions=[
            getattr(Figure, figure).add(amount) for figure, amount in amounts.items()])
    return len(events)
