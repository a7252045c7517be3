"""The guides' ranking of a month (导购排行榜) and a guide's own month.

A guide's row: their sales as the figures keep them for their scope, "g:<guide>" (orders
attributed to them: paid in the month, refunds on the day they succeeded), from the month's
own counters, so customers_served (服务客户数, distinct buyers) is exact; the customers newly
bound to them in the month (新增绑定, guides/bindings.py counts each once a month); and
their commission (佣金) on the month's sales (guides/commissions.month_totals, which also
counts the second-tier commission a guide earns on the guides they recruited). Guides rank
by net sales (gmv_fen − refunded_fen), highest first; equal net sales share a rank.

Whom it lists, and what that costs (it follows the guides listed, never the brand's orders
or members):
- a store: its guides (one Query of the store's staff), each whether or not they sold this
  month, and its former guides who have figures or new bindings in the month; their figures
  and new bindings in a BatchGet each;
- the brand: every guide with figures or new bindings in the month: one Query of the month's
  guide counters in the figures and one of the guides' month counters, a BatchGet of their
  staff records (names, stores).
Then a Query of each listed guide's month of sales for their commission, WORKERS at once."""
from datetime import date, timedelta

from chalicelib.errors import DomainError
from chalicelib.figures import reports

FIGURES = ("gmv_fen", "orders", "refunded_fen", "net_fen", "customers_served",
           "new_bindings", "commission_fen")
COLUMNS = ("rank", "guide_id", "name", "store_id", *FIGURES)
PART_FIGURES = ("orders", "gmv_fen", "refunded_fen", "net_fen", "customers_served")
GUIDE_COLUMNS = ("key", *FIGURES)
WORKERS = 8


def month_days(month):
    """(first, last) day of a month "YYYY-MM"; a validation_error otherwise."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except (TypeError, ValueError):
        raise DomainError("validation_error", "month must be YYYY-MM.") from None
    following = date(year + number // 12, number % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _part(key, amounts):
    """A row's sales: orders, GMV, refunds, net and the distinct customers who bought."""
    figures = reports.row(key, amounts)
    return {"key": key, **{name: figures[name] for name in PART_FIGURES
                           if name != "customers_served"},
            "customers_served": figures["buyers"]}


def _store_standing(month, store_id):
    """{guide id: guide view}, {guide id: amounts}, {guide id: new bindings} of a store."""
    from chalicelib.guides import bindings
    from chalicelib.members import staff

    roster = {guide["guide_id"]: guide for guide in staff.store_guides(store_id)}
    figures = {scope[2:]: amounts for (_, scope), amounts in reports.read_scopes(
        [(month, f"g:{guide_id}") for guide_id in roster]).items()}
    bound = bindings.new_bindings(month, roster)
    listed = {guide_id: guide for guide_id, guide in roster.items()
              if guide["current"] or guide_id in figures or bound.get(guide_id)}
    return listed, figures, bound


def _brand_standing(month):
    """The same for every guide of the brand with figures or new bindings in the month."""
    from chalicelib.guides import bindings
    from chalicelib.members import staff

    figures = reports.read(month, "g:", lambda scope: scope[2:])
    bound_in = bindings.bound_in(month)
    ids = set(figures) | set(bound_in)
    known = staff.guides(ids)
    listed = {guide_id: known.get(guide_id) or {
        "guide_id": guide_id, "name": None, "store_id": bound_in.get(guide_id, (0, None))[1],
        "current": False} for guide_id in ids}
    return listed, figures, {guide_id: count for guide_id, (count, _) in bound_in.items()}


def _ranked(listed, figures, bound):
    """The rows without commission, highest net sales first, each with its rank."""
    rows = []
    for guide_id, guide in listed.items():
        part = _part(guide_id, figures.get(guide_id) or reports.empty())
        rows.append({"guide_id": guide_id, "name": guide["name"],
                     "store_id": guide["store_id"],
                     **{name: part[name] for name in PART_FIGURES},
                     "new_bindings": bound.get(guide_id, 0)})
    rows.sort(key=lambda row: (-row["net_fen"], -row["gmv_fen"], row["guide_id"]))
    for position, row in enumerate(rows, start=1):
        ahead = rows[position - 2] if position > 1 else None
        row["rank"] = ahead["rank"] if ahead and ahead["net_fen"] == row["net_fen"] \
            else position
    return rows


def _standings(month, store_id):
    return _ranked(*(_store_standing(month, store_id) if store_id
                     else _brand_standing(month)))


def _commissions(month, guide_ids):
    """{guide id: their commission on the month's sales}, a Query of each one's sales."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.guides.commissions import month_totals

    guide_ids = list(guide_ids)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        totals = pool.map(lambda guide_id: month_totals(guide_id, month), guide_ids)
        return {guide_id: total["commission_fen"] for guide_id, total in zip(guide_ids, totals)}


def _with_commission(rows, month):
    commissions = _commissions(month, [row["guide_id"] for row in rows])
    return [{"rank": row["rank"], **{name: row[name] for name in COLUMNS[1:-1]},
             "commission_fen": commissions[row["guide_id"]]} for row in rows]


def leaderboard(month, store_id=None):
    """The month's guides, ranked: the store's (store_id), or the brand's."""
    month_days(month)
    rows = _with_commission(_standings(month, store_id), month)
    return {"month": month, "store_id": store_id, "distinct_counts": "exact", "rows": rows}


def guide_month(guide_id, store_id, month, today):
    """A guide's own month: their row's figures (as the ranking has them), their rank in
    their store (and how many guides it ranks), a row per day up to today (Asia/Shanghai) and
    one per channel. Nothing of another guide's but the rank."""
    first, last = month_days(month)
    standings = _standings(month, store_id)
    mine = next((row for row in standings if row["guide_id"] == guide_id), None)
    if mine is None:  # not (or no longer) a guide of that store: their own figures, unranked
        from chalicelib.guides import bindings

        amounts = reports.read_scopes([(month, f"g:{guide_id}")]).get(
            (month, f"g:{guide_id}"), reports.empty())
        mine = {"guide_id": guide_id, "name": None, "store_id": store_id, "rank": None,
                **{name: value for name, value in _part(guide_id, amounts).items()
                   if name != "key"},
                "new_bindings": bindings.new_bindings(month, [guide_id]).get(guide_id, 0)}
    [totals] = _with_commission([mine], month)
    days = reports.days_of(first, min(last, today)) if first <= today else []
    by_day = reports.read_scopes([(day, f"g:{guide_id}") for day in days])
    channels = reports.read(month, f"gc:{guide_id}:", lambda scope: scope.split(":", 2)[2])
    return {"month": month, "guide_id": guide_id, "name": mine["name"],
            "store_id": mine["store_id"], "rank": mine["rank"],
            "guides_ranked": len(standings), "distinct_counts": "exact",
            "totals": {name: totals[name] for name in FIGURES},
            "days": [_part(day, by_day.get((day, f"g:{guide_id}"), reports.empty()))
                     for day in days],
            "channels": [_part(channel, channels[channel]) for channel in sorted(channels)]}


def leaderboard_csv(report):
    return reports.as_csv(report["rows"], COLUMNS)


def guide_month_csv(report):
    """The guide's days, then channels, then their month's totals (key "total")."""
    return reports.as_csv([*report["days"], *report["channels"],
                           {"key": "total", **report["totals"]}], GUIDE_COLUMNS)
