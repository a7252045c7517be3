"""What paid orders and settled refunds add to the figures, exactly once, in batches.

A contribution is one fact that moves figures: an order paid ("p:<order>") or a refund of
goods that succeeded ("r:<order>:<n>"), with its time (paid, or settled: its day and month,
Asia/Shanghai), its scopes (brand, store, channel, store × channel, guide, guide × channel,
guide in a store, campaign), its amounts, and its member's cohort. The orders stream hands
both over in batches, and a batch may come again, halved, after any failure. Each batch:

1. reads its members' months (BatchGet), then claims, for each member, in their month's
   Activity item (one UpdateItem, if_not_exists): each contribution for this batch's token,
   and the facts distinct counts need: the first contribution of the member in each (day or
   month, scope) makes them a buyer and a visitor there, a second one a repeat buyer. Whoever
   writes a claim first owns it, so a batch delivered again owns nothing it already owned;
   claims gone stale are removed in the same write;
2. adds what it owns to the counters of each (period, scope) and of each cohort, in one
   transaction with its Receipt (the token: at most 99 counters a transaction, members
   grouped to fit).

A contribution claimed by a token without a receipt belongs to an attempt that died between
the two steps: it is taken over (a conditional write from the old claim) once GRACE has
passed since the claim (longer than any Lambda runs, so the old attempt cannot still
commit); until then the batch fails and comes again.

Cost: a read and a write per member (a write unit per KB of the member's month: the month's
claims and those of the last day or two), two write units per counter a batch touches and
two for its receipt: 1.84 write units a paid order for a brand of 10,000 orders a month
(bench/reports.py)."""
import hashlib
import uuid
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.core import logs
from chalicelib.core.clock import SHANGHAI
from chalicelib.core.retry import attempts

GRACE = timedelta(minutes=5)
LTV_DAYS = (30, 90, 180, 365)
COHORT = "ltv:"  # the period of a cohort's counters: "ltv:YYYY-MM"
LATE = timedelta(hours=25)  # the stream keeps a record 24 hours (stale says why)
MOST_ITEMS = 99  # of a transaction's 100, one is the receipt


class ClaimedElsewhere(Exception):
    """A contribution is claimed by an attempt that may still be running: try again later."""


@dataclass
class Contribution:
    cid: str
    member_id: str
    at: object  # aware datetime
    scopes: tuple
    amounts: dict
    buys: bool = False  # a paid order: makes the member a buyer, a visitor, a repeat buyer
    new_buyer: bool = False  # the member's first paid order
    store_id: str = None
    guide_id: str = None
    first_paid_at: object = None  # the member's first paid order: their cohort's start
    periods: tuple = field(init=False)

    def __post_init__(self):
        local = self.at.astimezone(SHANGHAI)
        self.day, self.month = local.strftime("%Y-%m-%d"), local.strftime("%Y-%m")
        self.periods = ((f"d{local:%d}", self.day), ("m", self.month))

    def counters(self):
        """Every (period, scope) of the figures this contribution adds to."""
        return {(period, scope) for _, period in self.periods for scope in self.scopes}

    def touched(self):
        """Every counter item it adds to: its figures', its cohort's."""
        cohort = self.cohort()
        return self.counters() | ({cohort[0]} if cohort else set())

    def cohort(self):
        """((the cohort's period, "b"), {figure: amount}): what the contribution adds to its
        member's cohort (the month of their first paid order), the net GMV it adds within
        each of LTV_DAYS of that order; None for a member whose start is not known."""
        if self.first_paid_at is None:
            return None
        age = self.at - self.first_paid_at
        net = self.amounts.get("gmv_fen", 0) - self.amounts.get("refunded_fen", 0)
        amounts = {f"net_{days}d_fen": net for days in LTV_DAYS if age < timedelta(days=days)}
        if self.new_buyer:
            amounts["cohort_members"] = 1
        cohort = self.first_paid_at.astimezone(SHANGHAI).strftime("%Y-%m")
        return (f"{COHORT}{cohort}", "b"), amounts


def _campaigns(order):
    """The order's campaign scopes, of the kinds names.CAMPAIGNS lists."""
    coupon_id = (order.breakdown or {}).get("coupon_id")
    return [f"k:{kind}:{campaign}" for kind, campaign in (
        ("flash_sale", order.flash_sale_id), ("group_buy", order.group_buy_id),
        ("live", order.live_session_id), ("coupon", coupon_id)) if campaign]


def scopes_of(order):
    """The scopes an order counts in."""
    scopes = ["b", f"s:{order.store_id}", f"c:{order.channel}",
              f"sc:{order.store_id}:{order.channel}"]
    if order.guide_id:
        scopes += [f"g:{order.guide_id}", f"gc:{order.guide_id}:{order.channel}",
                   f"sg:{order.store_id}:{order.guide_id}",
                   f"sgc:{order.store_id}:{order.guide_id}:{order.channel}"]
    return tuple(scopes + _campaigns(order))


def paid(order):
    breakdown = order.breakdown or {}
    return Contribution(
        f"p:{order.order_id}", order.member_id, order.paid_at, scopes_of(order),
        {"orders": 1, "gmv_fen": order.total_fen,
         "units": sum(line["quantity"] for line in breakdown.get("lines", ())),
         "coupon_fen": breakdown.get("coupon_discount_fen", 0),
         "points_fen": breakdown.get("points_fen", 0)},
        buys=True, new_buyer=order.member_order_number == 1, store_id=order.store_id,
        guide_id=order.guide_id, first_paid_at=order.member_first_paid_at)


def refunded(settled):
    """A refund of goods that succeeded (orders.events.SettledRefund): the n-th of its order."""
    order = settled.order
    return Contribution(f"r:{order.order_id}:{settled.number}", order.member_id,
                        settled.settled_at, scopes_of(order),
                        {"refunds": 1, "refunded_fen": settled.refund_fen},
                        store_id=order.store_id, guide_id=order.guide_id,
                        first_paid_at=order.member_first_paid_at)


def add(contributions, clock, reachable=lambda member_ids: set()):
    """Adds each contribution to the figures once, however often it is handed over.
    reachable(member ids) → those a message can reach: a repeat buyer with no guide on their
    order is a valid member if it names them."""
    by_month = defaultdict(list)
    for contribution in sorted(contributions, key=lambda c: (c.at, c.cid)):
        by_month[(contribution.member_id, contribution.month)].append(contribution)
    for group in _groups(by_month):
        _add_group(group, clock, reachable)


def _groups(by_month):
    """The members' months in groups whose counters fit one transaction."""
    group, touched = [], set()
    for key, contributions in by_month.items():
        counters = set().union(*(c.touched() for c in contributions))
        if group and len(touched | counters) > MOST_ITEMS:
            yield group
            group, touched = [], set()
        group.append((key, contributions))
        touched |= counters
    if group:
        yield group


def _add_group(group, clock, reachable):
    now = clock.now()
    token = uuid.uuid4().hex[:12]
    stamp = f"{token}@{int(now.timestamp())}"
    known = read_months([key for key, _ in group])
    owned = []  # (contribution, the distinct facts it owns)
    receipts = {}  # token → whether it wrote its receipt: a batch again asks once per token
    for (member_id, month), contributions in group:
        claims = _claim(member_id, month, contributions, known.get((member_id, month), {}),
                        stamp, now)
        for contribution in contributions:
            if _owns(member_id, month, contribution, claims, stamp, now, receipts):
                owned.append((contribution, _facts(contribution, claims)))
    if owned:
        _count_valid(owned, reachable)
        _commit(token, len(owned), _additions(owned))


VISITED = ("b", "s:")  # visits name a store: visitors count for it and for the brand
KEYS = ("member_id", "month")  # an Activity's key; its other attributes are claims


def short(text):
    """8 hex characters for a scope or a contribution in a claim of the distinct counts: a
    member's month holds dozens of them, and its size is what each write of it costs."""
    return format(zlib.crc32(text.encode()), "08x")


def fact_key(kind, code, scope):
    """The claim that the member is a buyer ("b"), repeat buyer ("r") or visitor ("v") in a
    period (code "dNN" or "m") and scope: "bd05" + 8 hex characters."""
    return f"{kind}{code}{short(scope)}"


def contribution_key(cid):
    """The claim of which batch counts a contribution: "c" + 12 hex characters (48 bits: a
    member's month never holds two contributions of one key)."""
    return "c" + hashlib.blake2b(cid.encode(), digest_size=6).hexdigest()


def stale(key, value, month, now):
    """Whether a claim can no longer be needed: no contribution it stands for, and none of
    its day, can come again. A contribution reaches the figures within the stream's 24 hours
    of the write that made it (its time is that write's), so a contribution's claim older
    than LATE, and a day's claims LATE after the day ended, are removed when the month is
    next written: the month's item stays near one write unit however often its member
    buys."""
    if key[0] == "c":
        return now.timestamp() - int(value.rpartition("@")[2]) > LATE.total_seconds()
    if key[1] != "d":
        return False  # the month's: needed all month
    day = datetime.strptime(f"{month}-{key[2:4]}", "%Y-%m-%d").replace(tzinfo=SHANGHAI)
    return now > day + timedelta(days=1) + LATE


def _first_claims(contributions, stamp):
    """{claim key: value} each contribution asks for first."""
    wanted = {}
    for contribution in contributions:
        wanted.setdefault(contribution_key(contribution.cid), stamp)
        if contribution.buys:
            for code, _ in contribution.periods:
                for scope in contribution.scopes:
                    wanted.setdefault(fact_key("b", code, scope), short(contribution.cid))
                    if scope.startswith(VISITED):
                        wanted.setdefault(fact_key("v", code, scope), short(contribution.cid))
    return wanted


def _repeat_claims(contributions, claims):
    """{claim key: value} of the repeat buyers: a contribution where another made the member
    a buyer already."""
    wanted = {}
    for contribution in contributions:
        if contribution.buys:
            for code, _ in contribution.periods:
                for scope in contribution.scopes:
                    if claims.get(fact_key("b", code, scope)) != short(contribution.cid):
                        wanted.setdefault(fact_key("r", code, scope), short(contribution.cid))
    return {key: value for key, value in wanted.items() if key not in claims}


def _claim_path(key):
    from pynamodb.expressions.operand import Path

    return Path([key])  # one attribute of that name, whatever it holds


def _claims_of(item):
    return {key: typed["S"] for key, typed in item.items() if key not in KEYS}


def read_months(keys):
    """{(member, month): {claim: value}} of the members' months as they stood a moment ago
    (eventually consistent, in BatchGets of 100): what the writes that follow need not
    repeat. A claim read is there (claims are only removed when stale), though one being
    written may not show yet: the writes' if_not_exists and their answers decide."""
    from chalicelib.figures.models import Activity

    connection, table = Activity._get_connection(), Activity.Meta.table_name
    found, keys = {}, list(dict.fromkeys(keys))
    for start in range(0, len(keys), 100):
        wanted = [{"member_id": {"S": member}, "month": {"S": month}}
                  for member, month in keys[start:start + 100]]
        for _ in attempts(8):
            answer = connection.batch_get_item(wanted)
            for item in answer["Responses"].get(table, ()):
                found[(item["member_id"]["S"], item["month"]["S"])] = _claims_of(item)
            wanted = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys")
            if not wanted:
                break
    return found


def claim(member_id, month, wanted, known=None, now=None):
    """Writes each claim not yet made (if_not_exists) in the member's month, and removes
    those gone stale; returns the month's claims as they now stand ({key: value}). known:
    the month's claims as read a moment ago: with nothing to add or remove, nothing is
    written."""
    from chalicelib.figures.models import Activity

    known = known or {}
    adding = {key: value for key, value in wanted.items() if key not in known}
    removing = [key for key, value in known.items()
                if now and key not in wanted and stale(key, value, month, now)]
    if not adding and not removing:
        return known
    paths = {key: _claim_path(key) for key in [*adding, *removing]}
    answer = Activity._get_connection().update_item(
        member_id, month, return_values="ALL_NEW",
        actions=[*(paths[key].set(paths[key] | value) for key, value in adding.items()),
                 *(paths[key].remove() for key in removing)])
    return _claims_of(answer["Attributes"])


def _claim(member_id, month, contributions, known, stamp, now):
    """The month's claims once this batch's are made: its first and repeat claims in one
    write, as the month read before says they are needed; a second write for the repeat
    claims of a race the first lost (another batch made the member a buyer meanwhile)."""
    first = _first_claims(contributions, stamp)
    repeats = _repeat_claims(contributions, {**first, **known})
    claims = claim(member_id, month, {**first, **repeats}, known, now)
    late = _repeat_claims(contributions, claims)
    return claim(member_id, month, late, claims) if late else claims


def _owns(member_id, month, contribution, claims, stamp, now, receipts):
    """Whether this batch counts the contribution: it claimed it, or takes over the claim of
    an attempt that died before its receipt."""
    from pynamodb.exceptions import UpdateError

    from chalicelib.figures.models import Activity, Receipt

    owner = claims.get(contribution_key(contribution.cid))
    if owner == stamp:
        return True
    token, _, claimed_at = owner.partition("@")
    if token not in receipts:
        receipts[token] = bool(Receipt.count(token, consistent_read=True))
    if receipts[token]:
        return False  # counted
    if now.timestamp() - int(claimed_at) < GRACE.total_seconds():
        raise ClaimedElsewhere(f"{contribution.cid} is claimed by an attempt in progress")
    path = _claim_path(contribution_key(contribution.cid))
    try:
        Activity._get_connection().update_item(member_id, month, actions=[path.set(stamp)],
                                               condition=path == owner)
    except UpdateError:
        raise ClaimedElsewhere(f"{contribution.cid} was taken over meanwhile") from None
    logs.warning("figures_claim_taken_over", contribution=contribution.cid)
    return True


def _facts(contribution, claims):
    """The distinct counts the contribution owns: {(period, scope): {figure: 1}}."""
    facts = defaultdict(dict)
    if not contribution.buys:
        return facts
    for code, period in contribution.periods:
        for scope in contribution.scopes:
            for prefix, figure in (("b", "buyers"), ("v", "visitors"), ("r", "repeat_buyers")):
                if claims.get(fact_key(prefix, code, scope)) == short(contribution.cid):
                    facts[(period, scope)][figure] = 1
            if contribution.new_buyer:
                facts[(period, scope)]["new_buyers"] = 1
    return facts


def _count_valid(owned, reachable):
    """A repeat buyer of the brand or a store is a valid member there (有效会员) if they could
    be reached when their second paid order came: a guide on the order, or a send credit."""
    repeats = [(contribution, facts) for contribution, facts in owned
               if any("repeat_buyers" in facts[key] for key in facts if key[1].startswith(
                   VISITED))]
    asked = {c.member_id for c, _ in repeats if not c.guide_id}
    can_reach = reachable(sorted(asked)) if asked else set()
    for contribution, facts in repeats:
        if contribution.guide_id or contribution.member_id in can_reach:
            for key in facts:
                if key[1].startswith(VISITED) and "repeat_buyers" in facts[key]:
                    facts[key]["valid_members"] = 1


def _additions(owned):
    """{(period, scope): ({figure: amount}, the scope's store or None)}."""
    additions = {}

    def add_to(key, amounts, store_id=None):
        into, _ = additions.setdefault(key, (defaultdict(int), store_id))
        for figure, amount in amounts.items():
            into[figure] += amount

    for contribution, facts in owned:
        for key in contribution.counters():
            add_to(key, contribution.amounts, _store_of(key[1], contribution))
            add_to(key, facts.get(key, {}))
        cohort = contribution.cohort()
        if cohort:
            add_to(*cohort)
    return additions


def _store_of(scope, contribution):
    return contribution.store_id if scope.startswith("g") else None


def _commit(token, count, additions):
    """The counters' additions and the receipt, in one transaction (tried again while it
    loses races with other batches; a receipt already there: committed before)."""
    from chalicelib.db.base import Cancellation, transaction
    from pynamodb.exceptions import TransactWriteError

    from chalicelib.figures.models import Figure, Receipt
    from chalicelib.figures.names import scope_key

    for _ in attempts(8):
        try:
            with transaction() as writes:
                writes.save(Receipt(token, contributions=count), name="receipt",
                            condition=Receipt.token.does_not_exist())
                for (period, scope), (amounts, store_id) in additions.items():
                    actions = [getattr(Figure, figure).add(amount)
                               for figure, amount in amounts.items() if amount]
                    if not actions:
                        continue  # a net of 0, a cohort's refund past its last window
                    if store_id:
                        actions.append(Figure.store_id.set(store_id))
                    writes.update(Figure(period, scope_key(scope)), actions=actions,
                                  name=f"figure#{period}#{scope}")
            return
        except TransactWriteError as error:
            cancellation = Cancellation.of(error)
            if cancellation.failed("receipt"):
                return
            if not cancellation.conflict:
                raise
    raise RuntimeError("figures: the counters stayed busy; the batch comes again")
