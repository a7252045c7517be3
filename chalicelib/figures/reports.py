"""Reports from the figures: one Query per period for the scopes a report asks about (a day's
brand, its stores, its channels, its guides), so a report over D days reads D partitions'
worth of S scopes, never an order. The guides' ranking (rankings.py) and the campaigns'
report (campaigns.py) read through the same helpers.

Distinct counts (visitors, buyers, new and repeat buyers, valid members) are exact over one
day and over one calendar month (the month's own counters). Over any other range a member
counted on two days counts twice: visitors and buyers add the days' counts, an upper bound,
and the answer says so ("distinct_counts": "upper_bound"); repeat buyers and valid members
are not given there (UNKNOWN_OVER_RANGES)."""
import csv
import io
from collections import defaultdict
from datetime import timedelta

from chalicelib.core.clock import SHANGHAI, report_days
from chalicelib.figures.names import ALL_TIME, COUNTERS, DISTINCT

CHANNELS = ("mall", "flash_sale", "group_buy", "live")
GROUPS = ("day", "store", "channel", "guide")
MAX_REPORT_DAYS = 366
ROW_FIGURES = ("visitors", "buyers", "orders", "gmv_fen", "refunded_fen", "net_fen",
               "aov_fen", "conversion", "repurchase_rate", "new_buyers", "repeat_buyers",
               "valid_members", "units", "coupon_fen", "points_fen", "store_visits",
               "product_views", "share_opens", "logins", "live_entries")
SALES_COLUMNS = ("key", *ROW_FIGURES)


def days_of(first, last):
    """The days first..last (dates) as periods, "YYYY-MM-DD"."""
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def whole_month(first, last):
    """The month "YYYY-MM" when first..last is one whole calendar month, else None."""
    if first.day == 1 and first.year == last.year and first.month == last.month \
            and (last + timedelta(days=1)).month != last.month:
        return first.strftime("%Y-%m")
    return None


def distinct_counts(first, last):
    """Whether the distinct counts over first..last are "exact" (one day, or one whole month
    read from its own counters) or an "upper_bound" (the days' added)."""
    return "exact" if first == last or whole_month(first, last) else "upper_bound"


def empty():
    return {name: 0 for name in COUNTERS}


def amounts_of(item):
    """A counter item's figures, {figure: amount}."""
    return {name: getattr(item, name) for name in COUNTERS}


def _add(into, amounts):
    for name in COUNTERS:
        into[name] += amounts[name]


def read(period, prefix, group_of, keep=None):
    """{row: {figure: amount}} of one period: one Query of the period's scopes beginning
    with prefix, each item's counters added to the row group_of(scope) names (None: not this
    report's); keep(item), if given, leaves out the items it is false for."""
    from chalicelib.figures.models import Figure

    rows = defaultdict(lambda: defaultdict(int))
    for item in Figure.query(period, Figure.scope.startswith(prefix)):
        row = group_of(item.scope.partition("#")[0])
        if row is None or (keep is not None and not keep(item)):
            continue
        _add(rows[row], amounts_of(item))
    return rows


def read_scopes(keys):
    """{(period, scope): {figure: amount}} of the (period, scope) pairs that have counters, in
    BatchGets: a few known scopes (a store's guides, a guide's days) without a Query each.
    Only the scopes' own items: a scope's traffic shards are not read."""
    from chalicelib.figures.models import Figure
    from chalicelib.figures.names import scope_key

    wanted = sorted(set(keys))
    if not wanted:
        return {}
    return {(item.period, item.scope.partition("#")[0]): amounts_of(item)
            for item in Figure.batch_get([(period, scope_key(scope))
                                          for period, scope in wanted])}


def sums(periods, prefix, group_of, keep=None, by_period=False):
    """({row: amounts}, totals) over the periods (read's rows added up); by_period: a row
    per period instead."""
    rows, totals = defaultdict(lambda: defaultdict(int)), defaultdict(int)
    for period in periods:
        for row, amounts in read(period, prefix, group_of, keep).items():
            _add(rows[period if by_period else row], amounts)
            _add(totals, amounts)
    return rows, totals


def distinct_from(amounts, exact):
    """The distinct counts of `exact` (a whole period's own counters) put in amounts."""
    for name in DISTINCT:
        amounts[name] = exact[name]


def _prefix_and_group(group_by, store_id, channel):
    """The scope prefix to query, and scope → the row it adds to (None: not this report's)."""
    if group_by == "store" or (group_by == "day" and store_id and not channel):
        if channel:
            def store_of(scope):
                _, store, scope_channel = scope.split(":", 2)
                return store if scope_channel == channel else None
            return (f"sc:{store_id}:{channel}#" if store_id else "sc:"), store_of
        return (f"s:{store_id}#" if store_id else "s:"), lambda scope: scope[2:]
    if group_by == "channel" or (group_by == "day" and channel):
        if store_id:
            return f"sc:{store_id}:" + (f"{channel}#" if channel else ""), \
                lambda scope: scope.split(":", 2)[2]
        return (f"c:{channel}#" if channel else "c:"), lambda scope: scope[2:]
    if group_by == "guide":
        if store_id:  # the guides' sales in the store
            if channel:
                return f"sgc:{store_id}:", lambda scope: _guide_in_channel(scope, channel)
            return f"sg:{store_id}:", lambda scope: scope.split(":", 2)[2]
        if channel:
            return "gc:", lambda scope: _guide_in_channel(scope, channel)
        return "g:", lambda scope: scope[2:]
    return "b#", lambda scope: "brand"


def _guide_in_channel(scope, channel):
    *_, guide, scope_channel = scope.split(":")
    return guide if scope_channel == channel else None


def row(key, amounts):
    """A report's row: the counters and what follows from them (net, AOV, conversion,
    repurchase rate)."""
    gmv, orders, refunded = amounts["gmv_fen"], amounts["orders"], amounts["refunded_fen"]
    buyers, visitors, repeat = amounts["buyers"], amounts["visitors"], amounts["repeat_buyers"]
    return {"key": key, **{name: amounts[name] for name in COUNTERS},
            "net_fen": gmv - refunded, "aov_fen": gmv // orders if orders else 0,
            "conversion": round(buyers / visitors, 4) if visitors else None,
            "repurchase_rate": round(repeat / buyers, 4) if buyers and repeat is not None
            else None}


# Over a range that is neither a day nor a calendar month, the days' distinct visitors and
# buyers added are an upper bound (a member of two days counts twice); who bought twice in
# the range cannot be told from the days (two orders on two days are no day's repeat): not
# given.
UNKNOWN_OVER_RANGES = ("repeat_buyers", "valid_members")


def over_a_range(amounts):
    for name in UNKNOWN_OVER_RANGES:
        amounts[name] = None


def sales(from_day, to_day, store_id=None, channel=None, group_by="day"):
    """Rows (a day, a store, a channel or a guide) and totals of the sales figures."""
    first, last = report_days(from_day, to_day, MAX_REPORT_DAYS)
    prefix, group_of = _prefix_and_group(group_by, store_id, channel)
    days = days_of(first, last)
    rows, totals = sums(days, prefix, group_of, by_period=group_by == "day")
    month = whole_month(first, last)
    if month:  # distinct counts from the month's own counters
        month_rows, month_totals = sums([month], prefix, group_of)
        if group_by != "day":
            for key, amounts in month_rows.items():
                distinct_from(rows[key], amounts)
        distinct_from(totals, month_totals)
    if group_by in ("store", "channel"):
        # a member who bought in two stores is one buyer of them all: the filter's scope
        whole_prefix, whole_group = _prefix_and_group("day", store_id, channel)
        _, whole = sums([month] if month else days, whole_prefix, whole_group)
        distinct_from(totals, whole)
    keys = days if group_by == "day" else sorted(rows)
    if distinct_counts(first, last) != "exact":
        for amounts in [totals, *([] if group_by == "day" else rows.values())]:
            over_a_range(amounts)
    return {"from": from_day, "to": to_day, "group_by": group_by, "store_id": store_id,
            "channel": channel, "distinct_counts": distinct_counts(first, last),
            "rows": [row(key, rows[key]) for key in keys], "totals": row("total", totals)}


MEMBER_FIGURES = ("members", "new_members", "new_members_wechat", "new_members_imported",
                  "visitors", "buyers", "repeat_buyers", "valid_members", "dormant_members")


def members(from_day, to_day, store_id=None):
    """The pond's members by day: new ones (WeChat and imported), visitors, buyers, repeat
    buyers, valid members (reachable, and a second paid order in the period), members found
    dormant (by the reactivation setting's days without an order), and the members there
    were at the end of the range (of the store: those whose home store it is)."""
    from chalicelib.reactivation.figures import dormant_found

    first, last = report_days(from_day, to_day, MAX_REPORT_DAYS)
    prefix, group_of = _prefix_and_group("day", store_id, None)
    days = days_of(first, last)
    rows, totals = sums(days, prefix, group_of, by_period=True)
    month = whole_month(first, last)
    if month:
        distinct_from(totals, sums([month], prefix, group_of)[1])
    exact = distinct_counts(first, last)
    if exact != "exact":
        over_a_range(totals)
    dormant = dormant_found(days, store_id)
    for day in days:
        rows[day]["dormant_members"] = dormant.get(day, 0)
    totals["dormant_members"] = sum(dormant.values())
    totals["members"] = _members_at(last, prefix, group_of)

    def member_row(key, amounts):
        new = amounts["new_members_wechat"] + amounts["new_members_imported"]
        return {"key": key, **{name: amounts.get(name, 0) for name in MEMBER_FIGURES},
                "new_members": new}

    return {"from": from_day, "to": to_day, "store_id": store_id, "distinct_counts": exact,
            "rows": [member_row(day, rows[day]) for day in days],
            "totals": member_row("total", totals)}


def _members_at(last, prefix, group_of):
    """Members ever counted new, less those counted after `last`: the rest of its month's
    days, then the months since (their own totals); None for a day more than MAX_REPORT_DAYS
    ago, which would read a year of months."""
    from chalicelib.core.clock import clock

    today = clock.now().astimezone(SHANGHAI).date()
    if (today - last).days > MAX_REPORT_DAYS:
        return None
    next_month = (last.replace(day=28) + timedelta(days=4)).replace(day=1)
    since = days_of(last + timedelta(days=1), min(next_month - timedelta(days=1), today))
    if next_month <= today:
        since += _months(next_month.strftime("%Y-%m"), today.strftime("%Y-%m"))
    _, ever = sums([ALL_TIME], prefix, group_of)
    _, after = sums(since, prefix, group_of)
    return sum(ever[name] - after[name] for name in ("new_members_wechat",
                                                     "new_members_imported"))


MAX_COHORTS = 36
LTV_FIGURES = ("members", *(f"ltv_{days}d_fen" for days in (30, 90, 180, 365)),
               *(f"net_{days}d_fen" for days in (30, 90, 180, 365)))


def ltv(cohort_from, cohort_to):
    """Per cohort (the month of its members' first paid order): its members, and their net
    GMV per member (integer fen, rounded down) within 30, 90, 180 and 365 days of their first
    order; one BatchGet of the cohorts' counters."""
    from chalicelib.figures.feed import COHORT, LTV_DAYS
    from chalicelib.figures.models import Figure
    from chalicelib.figures.names import scope_key

    months = _months(cohort_from, cohort_to)
    found = {item.period: item for item in Figure.batch_get(
        [(f"{COHORT}{month}", scope_key("b")) for month in months])}
    rows = []
    for month in months:
        item = found.get(f"{COHORT}{month}")
        members = item.cohort_members if item else 0
        row = {"key": month, "members": members}
        for days in LTV_DAYS:
            net = getattr(item, f"net_{days}d_fen") if item else 0
            row[f"net_{days}d_fen"] = net
            row[f"ltv_{days}d_fen"] = net // members if members else 0
        rows.append(row)
    return {"cohort_from": cohort_from, "cohort_to": cohort_to, "rows": rows}


def _months(first, last):
    """The months from first to last ("YYYY-MM"), at most MAX_COHORTS of them."""
    from chalicelib.errors import DomainError

    (year, month), (last_year, last_month) = (map(int, first.split("-")),
                                              map(int, last.split("-")))
    count = (last_year - year) * 12 + last_month - month + 1
    if count < 1:
        raise DomainError("validation_error", "cohort_to must not come before cohort_from.")
    if count > MAX_COHORTS:
        raise DomainError("validation_error", f"A report covers at most {MAX_COHORTS} cohorts.")
    return [f"{year + (month - 1 + n) // 12:04d}-{(month - 1 + n) % 12 + 1:02d}"
            for n in range(count)]


def as_csv(rows, columns):
    """Rows (dicts) as CSV text, UTF-8 with a BOM (so Excel reads Chinese): a header of the
    columns, then each row's values in their order (empty where None or absent)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for values in rows:
        writer.writerow(["" if values.get(name) is None else values[name] for name in columns])
    return "\ufeff" + out.getvalue()


def sales_csv(report):
    """The sales report as CSV, its totals last."""
    return as_csv([*report["rows"], report["totals"]], SALES_COLUMNS)


def members_csv(report):
    return as_csv([*report["rows"], report["totals"]], ("key", *MEMBER_FIGURES))


def ltv_csv(report):
    return as_csv(report["rows"], ("key", *LTV_FIGURES))
