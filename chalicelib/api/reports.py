from chalice import Blueprint

from chalicelib.api.guides import GUIDE, month_of_call
from chalicelib.api.routing import ADMIN, MEMBER, Download, route, staff
from chalicelib.api.schemas import figures as schemas

bp = Blueprint(__name__)

STORE_MANAGER = staff("store_manager", store_param="store_id")
CSV = ("text/csv",)


def _answer(call, report, as_csv, filename):
    """The report as JSON, or with ?format=csv as a download of as_csv(report)."""
    if call.query.get("format") == "csv":
        return Download(as_csv(report), "text/csv; charset=utf-8", f"{filename}.csv")
    return report


@route(bp, "/events", "POST", auth=MEMBER, body=schemas.EVENTS, response=schemas.EVENTS_COUNTED,
       error_codes=("not_found",),
       summary="What the shopper saw (a store, a product, a share they opened): traffic for "
               "the retail figures, up to 50 events a call")
def record_events(call):
    from chalicelib.figures import traffic

    return {"counted": traffic.record(call.member_id, call.body["events"])}


def _sales(call, store_id):
    from chalicelib.figures import reports

    query = call.query
    report = reports.sales(query["from"], query["to"], store_id=store_id,
                           channel=query.get("channel"), group_by=query.get("group_by", "day"))
    return _answer(call, report, reports.sales_csv, f"sales-{query['from']}-{query['to']}")


@route(bp, "/admin/reports/sales", auth=ADMIN, query=schemas.SALES_QUERY,
       response=schemas.SALES, downloads=CSV,
       summary="Sales figures (visitors, buyers, orders, GMV, refunds, net, AOV, conversion, "
               "repurchase) by day, store, channel or guide; ?format=csv for Excel")
def sales_report(call):
    return _sales(call, call.query.get("store_id"))


@route(bp, "/stores/{store_id}/reports/sales", auth=STORE_MANAGER,
       query=schemas.SALES_QUERY, response=schemas.SALES, downloads=CSV,
       summary="The store's sales figures, as the brand's report has them for one store")
def store_sales_report(call):
    return _sales(call, call.params["store_id"])


def _guides(call, store_id):
    from chalicelib.figures import rankings

    month = month_of_call(call)
    return _answer(call, rankings.leaderboard(month, store_id), rankings.leaderboard_csv,
                   f"guides-{month}" + (f"-{store_id}" if store_id else ""))


@route(bp, "/admin/reports/guides", auth=ADMIN, query=schemas.GUIDES_QUERY,
       response=schemas.GUIDES, downloads=CSV,
       summary="The guides' ranking of a month (导购排行榜): sales, refunds, net, customers "
               "served, new bindings and commission per guide, by net sales; ?store_id= for "
               "one store's guides, ?format=csv for Excel")
def guides_report(call):
    return _guides(call, call.query.get("store_id"))


@route(bp, "/stores/{store_id}/reports/guides", auth=STORE_MANAGER,
       query=schemas.STORE_GUIDES_QUERY, response=schemas.GUIDES, downloads=CSV,
       summary="The store's guides ranked for a month, as the brand's ranking has them")
def store_guides_report(call):
    return _guides(call, call.params["store_id"])


@route(bp, "/guides/me/report", auth=GUIDE, query=schemas.MY_REPORT_QUERY,
       response=schemas.GUIDE_REPORT, downloads=CSV,
       summary="My month: my figures as the ranking has them, my rank in my store, and my "
               "sales by day and by channel")
def my_report(call):
    from chalicelib.core.clock import SHANGHAI, clock
    from chalicelib.figures import rankings

    month = month_of_call(call)
    report = rankings.guide_month(call.member_id, call.staff.store_id, month,
                                  clock.now().astimezone(SHANGHAI).date())
    return _answer(call, report, rankings.guide_month_csv, f"my-month-{month}")


@route(bp, "/admin/reports/campaigns", auth=ADMIN, query=schemas.CAMPAIGNS_QUERY,
       response=schemas.CAMPAIGNS, downloads=CSV,
       summary="Campaign results (活动效果): each flash sale, group buy, live session, "
               "coupon and the reactivation with figures in the days; ?kind= for one kind, "
               "?format=csv for Excel")
def campaigns_report(call):
    from chalicelib.figures import campaigns

    query = call.query
    report = campaigns.report(query["from"], query["to"], query.get("kind"))
    return _answer(call, report, campaigns.as_csv,
                   f"campaigns-{query['from']}-{query['to']}")


def _members(call, store_id):
    from chalicelib.figures import reports

    query = call.query
    report = reports.members(query["from"], query["to"], store_id)
    return _answer(call, report, reports.members_csv,
                   f"members-{query['from']}-{query['to']}")


@route(bp, "/admin/reports/members", auth=ADMIN, query=schemas.MEMBERS_QUERY,
       response=schemas.MEMBERS, downloads=CSV,
       summary="The pond's members by day: new (WeChat, imported), visitors, buyers, repeat "
               "buyers, valid members, found dormant, and the members at the end; ?format=csv")
def members_report(call):
    return _members(call, call.query.get("store_id"))


@route(bp, "/stores/{store_id}/reports/members", auth=STORE_MANAGER,
       query=schemas.MEMBERS_QUERY, response=schemas.MEMBERS, downloads=CSV,
       summary="The store's members, as the brand's report has them for one store")
def store_members_report(call):
    return _members(call, call.params["store_id"])


@route(bp, "/admin/reports/ltv", auth=ADMIN, query=schemas.LTV_QUERY, response=schemas.LTV,
       downloads=CSV,
       summary="Lifetime value by cohort (the month of the first paid order): members, and "
               "net GMV per member within 30, 90, 180 and 365 days; ?format=csv")
def ltv_report(call):
    from chalicelib.figures import reports

    query = call.query
    return _answer(call, reports.ltv(query["cohort_from"], query["cohort_to"]),
                   reports.ltv_csv, f"ltv-{query['cohort_from']}-{query['cohort_to']}")
