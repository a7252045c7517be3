from chalice import Blueprint

from chalicelib.api.routing import ADMIN, MEMBER, Download, route, staff
from chalicelib.api.schemas import figures as schemas

bp = Blueprint(__name__)

STORE_MANAGER = staff("store_manager", store_param="store_id")


@route(bp, "/events", "POST", auth=MEMBER, body=schemas.EVENTS, response=schemas.EVENTS_COUNTED,
       error_codes=("not_found",),
       summary="What the shopper saw (a store, a product, a share they opened): traffic for "
               "the retail figures, up to 50 events a call")
def record_events(call):
    from chalicelib.figures import traffic

    return {"counted": traffic.record(call.member_id, call.body["events"])}


def _answer(call, name, report, figures, span=("from", "to")):
    """The report, or with ?format=csv its rows (and totals) for Excel."""
    from chalicelib.figures import reports

    if call.query.get("format") == "csv":
        first, last = (call.query[key] for key in span)
        return Download(reports.as_csv(report, figures), "text/csv; charset=utf-8",
                        f"{name}-{first}-{last}.csv")
    return report


def _sales(call, store_id):
    from chalicelib.figures import reports

    query = call.query
    return _answer(call, "sales", reports.sales(
        query["from"], query["to"], store_id=store_id, channel=query.get("channel"),
        group_by=query.get("group_by", "day")), reports.ROW_FIGURES)


def _members(call, store_id):
    from chalicelib.figures import reports

    return _answer(call, "members", reports.members(call.query["from"], call.query["to"],
                                                    store_id), reports.MEMBER_FIGURES)


@route(bp, "/admin/reports/sales", auth=ADMIN, query=schemas.SALES_QUERY,
       response=schemas.SALES, downloads=("text/csv",),
       summary="Sales figures (visitors, buyers, orders, GMV, refunds, net, AOV, conversion, "
               "repurchase) by day, store, channel or guide; ?format=csv for Excel")
def sales_report(call):
    return _sales(call, call.query.get("store_id"))


@route(bp, "/stores/{store_id}/reports/sales", auth=STORE_MANAGER,
       query=schemas.SALES_QUERY, response=schemas.SALES, downloads=("text/csv",),
       summary="The store's sales figures, as the brand's report has them for one store")
def store_sales_report(call):
    return _sales(call, call.params["store_id"])


@route(bp, "/admin/reports/members", auth=ADMIN, query=schemas.MEMBERS_QUERY,
       response=schemas.MEMBERS, downloads=("text/csv",),
       summary="The pond's members by day: new (WeChat, imported), visitors, buyers, repeat "
               "buyers, valid members, found dormant, and the members at the end; ?format=csv")
def members_report(call):
    return _members(call, call.query.get("store_id"))


@route(bp, "/stores/{store_id}/reports/members", auth=STORE_MANAGER,
       query=schemas.MEMBERS_QUERY, response=schemas.MEMBERS, downloads=("text/csv",),
       summary="The store's members, as the brand's report has them for one store")
def store_members_report(call):
    return _members(call, call.params["store_id"])


@route(bp, "/admin/reports/ltv", auth=ADMIN, query=schemas.LTV_QUERY, response=schemas.LTV,
       downloads=("text/csv",),
       summary="Lifetime value by cohort (the month of the first paid order): members, and "
               "net GMV per member within 30, 90, 180 and 365 days; ?format=csv")
def ltv_report(call):
    from chalicelib.figures import reports

    return _answer(call, "ltv", reports.ltv(call.query["cohort_from"], call.query["cohort_to"]),
                   reports.LTV_FIGURES, span=("cohort_from", "cohort_to"))
