"""Campaign results (活动效果): each flash sale, group buy, live session and coupon with orders
in a range, from the figures' campaign scopes ("k:<kind>:<id>": an order counts in its
campaigns on the day it was paid, its refunds on the day they succeeded), and the dormant-
member reactivation (沉睡会员唤醒) from its own report's counters.

Reads: one Query per day of the range (scopes beginning "k:", or "k:<kind>:"), the month's
own counters too when the range is one whole month (distinct counts exact, as the sales
report has them), a BatchGet of each kind's names, of the live sessions' viewers, and of the
reactivation's brand counters per day. Its cost follows the days and the campaigns with
orders, never the orders.

What each row can say depends on what its domain keeps:
- discount_fen: what coupons took off (the coupon's own orders); the price cut of a flash,
  group or live price below the regular one is not kept, so those rows say null;
- conversion: a live session's buyers / viewers (both over the session's whole life, as the
  session's own figures keep them; reached: its viewers); reactivation's members reactivated
  / contacted (reached: contacted by message or by their guide); group buys keep no count of
  groups opened and completed per campaign, flash sales and coupons no audience: null;
- reactivation: contacts and their results count on the contact's day; a reactivation is
  the member's first paid order after the contact (orders and buyers: members reactivated,
  gmv_fen: what those orders came to); its units, refunds and first-time buyers are not
  kept (null).
No totals: an order in a flash sale with a coupon counts in both."""
from chalicelib.core.clock import report_days
from chalicelib.figures import reports
from chalicelib.figures.names import CAMPAIGNS

REACTIVATION = "reactivation"
KINDS = (*CAMPAIGNS, REACTIVATION)
REACTIVATION_NAME = "沉睡会员唤醒"
FIGURES = ("orders", "units", "gmv_fen", "refunded_fen", "net_fen", "buyers", "new_buyers",
           "discount_fen", "reached", "conversion")
COLUMNS = ("kind", "campaign_id", "name", *FIGURES)


def _names(kind, ids):
    """{campaign id: its name} from the campaign's own domain."""
    if kind == "flash_sale":
        from chalicelib.promotions.flash import sales

        return sales.names(ids)
    if kind == "group_buy":
        from chalicelib.promotions.groups import campaigns

        return campaigns.names(ids)
    if kind == "live":
        from chalicelib.promotions.live import sessions

        return sessions.names(ids)
    from chalicelib.coupons import wallet

    return wallet.names(ids)


def _audiences(kind, ids):
    """{campaign id: (reached, converted)} where the campaign's domain keeps them."""
    if kind == "live":
        from chalicelib.promotions.live import figures

        return figures.audiences(ids)
    return {}


def _rate(converted, reached):
    return round(converted / reached, 4) if reached else None


def _campaign_rows(first, last, kind):
    prefix = f"k:{kind}:" if kind else "k:"

    def campaign_of(scope):
        _, scope_kind, campaign_id = scope.split(":", 2)
        return scope_kind, campaign_id

    rows, _ = reports.sums(reports.days_of(first, last), prefix, campaign_of)
    month = reports.whole_month(first, last)
    if month:  # distinct counts from the month's own counters
        for key, amounts in reports.read(month, prefix, campaign_of).items():
            reports.distinct_from(rows[key], amounts)
    found = []
    for scope_kind in CAMPAIGNS:
        ids = [campaign_id for row_kind, campaign_id in rows if row_kind == scope_kind]
        if not ids:
            continue
        names, audiences = _names(scope_kind, ids), _audiences(scope_kind, ids)
        for campaign_id in ids:
            figures = reports.row(campaign_id, rows[(scope_kind, campaign_id)])
            reached, converted = audiences.get(campaign_id, (None, None))
            found.append({
                "kind": scope_kind, "campaign_id": campaign_id,
                "name": names.get(campaign_id),
                **{name: figures[name] for name in ("orders", "units", "gmv_fen",
                                                    "refunded_fen", "net_fen", "buyers",
                                                    "new_buyers")},
                "discount_fen": figures["coupon_fen"] if scope_kind == "coupon" else None,
                "reached": reached, "conversion": _rate(converted, reached)})
    return found


def _reactivation_row(first, last):
    from chalicelib.reactivation import figures

    totals = figures.brand_totals(first, last)
    contacted = totals["contacted_by_message"] + totals["handed_to_guides"]
    if not (contacted or totals["reactivated"] or totals["gmv_fen"]):
        return None
    return {"kind": REACTIVATION, "campaign_id": REACTIVATION, "name": REACTIVATION_NAME,
            "orders": totals["reactivated"], "units": None, "gmv_fen": totals["gmv_fen"],
            "refunded_fen": None, "net_fen": None, "buyers": totals["reactivated"],
            "new_buyers": None, "discount_fen": None, "reached": contacted,
            "conversion": _rate(totals["reactivated"], contacted)}


def report(from_day, to_day, kind=None):
    """Each campaign with figures in the days (of one kind, with kind), highest net sales
    first."""
    from chalicelib.errors import DomainError

    first, last = report_days(from_day, to_day, reports.MAX_REPORT_DAYS)
    if kind is not None and kind not in KINDS:
        raise DomainError("validation_error", f"kind must be one of {', '.join(KINDS)}.")
    rows = _campaign_rows(first, last, kind) if kind != REACTIVATION else []
    if kind in (None, REACTIVATION):
        rows += [row for row in [_reactivation_row(first, last)] if row]
    rows.sort(key=lambda row: (-(row["gmv_fen"] if row["net_fen"] is None
                                 else row["net_fen"]), row["kind"], row["campaign_id"]))
    return {"from": from_day, "to": to_day, "kind": kind,
            "distinct_counts": reports.distinct_counts(first, last), "rows": rows}


def as_csv(report):
    return reports.as_csv(report["rows"], COLUMNS)
