"""Reports from the figures: one Query per period for the scopes a report asks about (a day's
brand, its stores, its channels, its guides), so a report over D days reads D partitions'
worth of S scopes, never an order.

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


def _whole_month(first, last):
    return first.day == 1 and first.year == last.year and first.month == last.month \
        and (last + timedelta(days=1)).month != last.month


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


def _read(period, prefix, group_of):
    """{row: {figure: amount}} of one period."""
    from chalicelib.figures.models import Figure

    rows = defaultdict(lambda: defaultdict(int))
    for item in Figure.query(period, Figure.scope.startswith(prefix)):
        scope = item.scope.partition("#")[0]
        row = group_of(scope)
        if row is None:
            continue
        for name in COUNTERS:
            rows[row][name] += getattr(item, name)
    return rows


def _row(key, amounts):
    gmv, orders, refunded = amounts["gmv_fen"], amounts["orders"], amounts["refunded_fen"]
    buyers, visitors = amounts["buyers"], amounts["visitors"]
    repeat = amounts["repeat_buyers"]
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


def _over_a_range(amounts):
    for name in UNKNOWN_OVER_RANGES:
        amounts[name] = None


def _add(into, amounts):
    for name in COUNTERS:
        into[name] += amounts[name]


def _rows_and_totals(periods, prefix, group_of, store_id, group_by):
    """({row: amounts}, totals) over the periods; a day's report has a row per day."""
    rows, totals = defaultdict(lambda: defaultdict(int)), defaultdict(int)
    for period in periods:
        for row, amounts in _read(period, prefix, group_of).items():
            _add(rows[period if group_by == "day" else row], amounts)
            _add(totals, amounts)
    return rows, totals


def sales(from_day, to_day, store_id=None, channel=None, group_by="day"):
    """Rows (a day, a store, a channel or a guide) and totals of the sales figures."""
    first, last = report_days(from_day, to_day, MAX_REPORT_DAYS)
    prefix, group_of = _prefix_and_group(group_by, store_id, channel)
    days = _days(first, last)
    rows, totals = _rows_and_totals(days, prefix, group_of, store_id, group_by)
    month = _whole_month(first, last)
    if month:  # distinct counts from the month's own counters
        month_rows, month_totals = _rows_and_totals([first.strftime("%Y-%m")], prefix,
                                                    group_of, store_id, group_by)
        if group_by != "day":
            for row, amounts in month_rows.items():
                _distinct_from(rows[row], amounts)
        _distinct_from(totals, month_totals)
    if group_by in ("store", "channel"):
        # a member who bought in two stores is one buyer of them all: the filter's scope
        whole_prefix, whole_group = _prefix_and_group("day", store_id, channel)
        _, whole = _rows_and_totals([first.strftime("%Y-%m")] if month else days,
                                    whole_prefix, whole_group, store_id, "day")
        _distinct_from(totals, whole)
    keys = days if group_by == "day" else sorted(rows)
    exact = month or first == last
    if not exact:
        for amounts in [totals, *([] if group_by == "day" else rows.values())]:
            _over_a_range(amounts)
    return {"from": from_day, "to": to_day, "group_by": group_by, "store_id": store_id,
            "channel": channel, "distinct_counts": "exact" if exact else "upper_bound",
            "rows": [_row(key, rows[key]) for key in keys], "totals": _row("total", totals)}


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
    days = _days(first, last)
    rows, totals = _rows_and_totals(days, prefix, group_of, store_id, "day")
    exact = _exact_distinct(first, last, prefix, group_of, store_id, totals)
    if not exact:
        _over_a_range(totals)
    dormant = dormant_found(days, store_id)
    for day in days:
        rows[day]["dormant_members"] = dormant.get(day, 0)
    totals["dormant_members"] = sum(dormant.values())
    totals["members"] = _members_at(last, prefix, group_of, store_id)

    def row(key, amounts):
        new = amounts["new_members_wechat"] + amounts["new_members_imported"]
        return {"key": key, **{name: amounts.get(name, 0) for name in MEMBER_FIGURES},
                "new_members": new}

    return {"from": from_day, "to": to_day, "store_id": store_id,
            "distinct_counts": "exact" if exact else "upper_bound",
            "rows": [row(day, rows[day]) for day in days], "totals": row("total", totals)}


def _members_at(last, prefix, group_of, store_id):
    """Members ever counted new, less those counted after `last` (one Query a day since)."""
    from chalicelib.core.clock import clock

    def new(amounts):
        return amounts["new_members_wechat"] + amounts["new_members_imported"]

    _, ever = _rows_and_totals([ALL_TIME], prefix, group_of, store_id, "day")
    today = clock.now().astimezone(SHANGHAI).date()
    _, since = _rows_and_totals(_days(last + timedelta(days=1), today), prefix, group_of,
                                store_id, "day")
    return new(ever) - new(since)


def _days(first, last):
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def _exact_distinct(first, last, prefix, group_of, store_id, totals):
    """Puts the exact distinct counts of one day or one whole month into totals; whether
    they are exact."""
    if first == last:
        return True
    if not _whole_month(first, last):
        return False
    _, month = _rows_and_totals([first.strftime("%Y-%m")], prefix, group_of, store_id, "day")
    _distinct_from(totals, month)
    return True


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


def _distinct_from(amounts, exact):
    for name in DISTINCT:
        amounts[name] = exact[name]


def as_csv(report, figures=ROW_FIGURES):
    """The report's rows, and its totals last, as CSV text: UTF-8 with a BOM (so Excel reads
    Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["key", *figures])
    for row in [*report["rows"], *([report["totals"]] if "totals" in report else [])]:
        writer.writerow([row["key"], *("" if row[name] is None else row[name]
                                       for name in figures)])
    return "\ufeff" + out.getvalue()
