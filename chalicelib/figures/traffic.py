"""Traffic: what the mini-program reports a shopper saw (a store, a product, a share they
opened) and the visits the backend sees itself (a sign-in, a live session's entry), kept as
counters of the day, with the day's and month's distinct visitors; and new members.

A call's events are counted together: for each store, one write to its day's counters and
one to the brand's, on one of SHARDS items by a hash of the member (a store's page views in
a flash sale go past one item's thousand writes a second); the month's too when this is the
member's first visit of the month. A visitor is claimed in the member's Activity as an
order's buyer is (figures/feed.py), so a member counts once a day and once a month however
many pages they open, and a paid order counts its buyer as a visitor if they were not one;
the month is read first, and written only when it lacks a claim (a member's second visit of
a day writes only the counters). A failure between the claim and the counters loses that
one visitor, and a visit counted again (its event delivered twice) claims nothing it did
not: traffic is never counted twice, and it is not money."""
import uuid
import zlib
from collections import defaultdict

from chalicelib.core.clock import SHANGHAI
from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError
from chalicelib.figures.names import ALL_TIME

FIGURE_OF = {"store_visit": "store_visits", "product_view": "product_views",
             "share_open": "share_opens"}
SEEN = {"login": "logins", "live_entry": "live_entries"}  # the backend's own
SHARDS = 8
MOST_EVENTS = 50
JOINED = ("j", "m", "b")  # the claim that counts a member new (fact_key's kind, code, scope)


def record(member_id, events, clock=system_clock):
    """Counts a call's events (each {"kind", "store_id", …}); unknown stores are refused
    before anything is counted. Returns how many were counted."""
    from chalicelib.catalog.stores import get_stores

    store_ids = sorted({event["store_id"] for event in events})
    known = {store.store_id for store in get_stores(store_ids)}
    unknown = [store_id for store_id in store_ids if store_id not in known]
    if unknown:
        raise DomainError("not_found", f"No store {unknown[0]}.")
    _count(member_id, [(FIGURE_OF[event["kind"]], event["store_id"]) for event in events],
           clock.now())
    return len(events)


def visit(member_id, kind, store_id, at, new_member=False):
    """A visit the backend saw (SEEN: "login", "live_entry"), for the brand and the store
    (None: the brand alone); new_member: the member's first sign-in, a new WeChat member."""
    _count(member_id, [(SEEN[kind], store_id)], at, new_member)


def _count(member_id, seen, at, new_member=False):
    """seen: [(figure, store id or None)], counted at `at`."""
    from chalicelib.figures import feed

    local = at.astimezone(SHANGHAI)
    day, month = local.strftime("%Y-%m-%d"), local.strftime("%Y-%m")
    visit_id = uuid.uuid4().hex[:8]
    scopes = ["b", *sorted({f"s:{store_id}" for _, store_id in seen if store_id})]
    visitors = {feed.fact_key("v", code, scope): (period, scope)
                for code, period in ((f"d{local:%d}", day), ("m", month)) for scope in scopes}
    joined = feed.fact_key(*JOINED)
    wanted = [*visitors, *([joined] if new_member else [])]
    known = feed.read_months([(member_id, month)]).get((member_id, month), {})
    claims = feed.claim(member_id, month, {key: visit_id for key in wanted}, known, at)
    additions = defaultdict(lambda: defaultdict(int))
    for figure, store_id in seen:
        for scope in ("b", *([f"s:{store_id}"] if store_id else [])):
            additions[(day, scope)][figure] += 1
    for key, period_and_scope in visitors.items():
        if claims.get(key) == visit_id:
            additions[period_and_scope]["visitors"] += 1
    if new_member and claims.get(joined) == visit_id:
        for period in _joining_periods(local):
            for scope in scopes:
                additions[(period, scope)]["new_members_wechat"] += 1
    _add(additions, zlib.crc32(member_id.encode()) % SHARDS)


def _joining_periods(local):
    """Where a new member counts: their day, and the month's and all time's totals (the
    members report's count at a range's end reads them)."""
    return local.strftime("%Y-%m-%d"), local.strftime("%Y-%m"), ALL_TIME


def _add(additions, shard):
    """{(period, scope): {figure: amount}} added to the scope's counters on one shard."""
    from chalicelib.figures.models import Figure
    from chalicelib.figures.names import scope_key

    for (period, scope), amounts in additions.items():
        Figure(period, scope_key(scope, shard)).update(actions=[
            getattr(Figure, figure).add(amount) for figure, amount in amounts.items()])


def count_imported(members, at):
    """Members an import just wrote ([(member id, home store or None)]): new members of the
    day (and its month's and all time's totals), for the brand and each home store. The
    import writes each member once (its phone claim), so a run again counts only those it
    writes."""
    periods = _joining_periods(at.astimezone(SHANGHAI))
    additions = defaultdict(lambda: defaultdict(int))
    for _, store_id in members:
        for scope in ("b", *([f"s:{store_id}"] if store_id else [])):
            for period in periods:
                additions[(period, scope)]["new_members_imported"] += 1
    if additions:
        _add(additions, zlib.crc32(members[0][0].encode()) % SHARDS)
