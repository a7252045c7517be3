from chalicelib.api.schemas import DAY as _DAY
from chalicelib.api.schemas import MONTH as _MONTH
from chalicelib.figures import campaigns, rankings
from chalicelib.figures.reports import (CHANNELS, GROUPS, LTV_FIGURES, MAX_REPORT_DAYS,
                                        MEMBER_FIGURES, ROW_FIGURES, UNKNOWN_OVER_RANGES)
from chalicelib.figures.traffic import FIGURE_OF, MOST_EVENTS

_ID = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}

EVENTS = {
    "type": "object",
    "properties": {"events": {"type": "array", "minItems": 1, "maxItems": MOST_EVENTS, "items": {
        "type": "object",
        "properties": {"kind": {"enum": sorted(FIGURE_OF)}, "store_id": _ID,
                       "product_id": _ID,
                       "scene": {"type": "string", "maxLength": 64,
                                 "description": "The share's scene, for share_open"}},
        "required": ["kind", "store_id"], "additionalProperties": False}}},
    "required": ["events"], "additionalProperties": False,
}

EVENTS_COUNTED = {"type": "object", "properties": {"counted": {"type": "integer"}},
                  "required": ["counted"]}

_FORMAT = {"enum": ["json", "csv"], "default": "json",
           "description": "csv: the same rows as a download, UTF-8 with a BOM (for Excel)"}
_RANGE = {"from": {**_DAY, "description": "First day (Asia/Shanghai), inclusive"},
          "to": {**_DAY, "description": f"Last day, inclusive; at most {MAX_REPORT_DAYS} days"}}

SALES_QUERY = {
    "type": "object",
    "properties": {
        **_RANGE, "store_id": _ID, "channel": {"enum": list(CHANNELS)},
        "group_by": {"enum": list(GROUPS), "default": "day"}, "format": _FORMAT},
    "required": ["from", "to"],
}

_ROW = {"type": "object", "properties": {
    "key": {"type": "string"},
    **{name: {"type": "integer"} for name in ROW_FIGURES if name not in (
        "conversion", "repurchase_rate", *UNKNOWN_OVER_RANGES)},
    **{name: {"type": ["integer", "null"]} for name in UNKNOWN_OVER_RANGES},
    "conversion": {"type": ["number", "null"]}, "repurchase_rate": {"type": ["number", "null"]}},
    "required": ["key", *ROW_FIGURES]}

SALES = {
    "type": "object",
    "properties": {"from": {"type": "string"}, "to": {"type": "string"},
                   "group_by": {"enum": list(GROUPS)},
                   "store_id": {"type": ["string", "null"]},
                   "channel": {"type": ["string", "null"]},
                   "distinct_counts": {"enum": ["exact", "upper_bound"]},
                   "rows": {"type": "array", "items": _ROW}, "totals": _ROW},
    "required": ["from", "to", "group_by", "distinct_counts", "rows", "totals"],
}

_MONTH_PARAM = {**_MONTH, "description": "YYYY-MM in Asia/Shanghai; this month if left out"}
_FEN = {"type": "integer"}
_OR_NULL = {"type": ["integer", "null"]}

STORE_GUIDES_QUERY = {"type": "object",
                      "properties": {"month": _MONTH_PARAM, "format": _FORMAT}}
GUIDES_QUERY = {"type": "object",
                "properties": {**STORE_GUIDES_QUERY["properties"],
                               "store_id": {**_ID, "description": "One store's guides"}}}
MY_REPORT_QUERY = STORE_GUIDES_QUERY

_GUIDE_FIGURES = {
    "gmv_fen": {**_FEN, "description": "Paid orders attributed to the guide (成交额)"},
    "orders": _FEN,
    "refunded_fen": {**_FEN, "description": "Refunds of goods that succeeded in the month"},
    "net_fen": {**_FEN, "description": "gmv_fen − refunded_fen: what the ranking sorts by"},
    "customers_served": {**_FEN, "description": "Distinct members who bought from the guide "
                                                "(服务客户数)"},
    "new_bindings": {**_FEN, "description": "Customers newly bound to the guide by their "
                                            "links (新增绑定), each once a month"},
    "commission_fen": {**_FEN, "description": "Commission on the month's sales, both tiers, "
                                              "net of refunds (佣金)"}}

_GUIDE_ROW = {"type": "object", "properties": {
    "rank": {"type": "integer", "description": "Equal net sales share a rank"},
    "guide_id": {"type": "string"}, "name": {"type": ["string", "null"]},
    "store_id": {"type": ["string", "null"]}, **_GUIDE_FIGURES},
    "required": list(rankings.COLUMNS)}

GUIDES = {
    "type": "object",
    "properties": {"month": {"type": "string"}, "store_id": {"type": ["string", "null"]},
                   "distinct_counts": {"enum": ["exact"]},
                   "rows": {"type": "array", "items": _GUIDE_ROW}},
    "required": ["month", "store_id", "distinct_counts", "rows"],
}

_GUIDE_PART = {"type": "object", "properties": {
    "key": {"type": "string", "description": "The day (YYYY-MM-DD) or the channel"},
    **{name: _GUIDE_FIGURES[name] for name in rankings.PART_FIGURES}},
    "required": ["key", *rankings.PART_FIGURES]}

GUIDE_REPORT = {
    "type": "object",
    "properties": {
        "month": {"type": "string"}, "guide_id": {"type": "string"},
        "name": {"type": ["string", "null"]}, "store_id": {"type": ["string", "null"]},
        "rank": {"type": ["integer", "null"],
                 "description": "My rank among my store's guides by net sales"},
        "guides_ranked": {"type": "integer"}, "distinct_counts": {"enum": ["exact"]},
        "totals": {"type": "object", "properties": _GUIDE_FIGURES,
                   "required": list(rankings.FIGURES)},
        "days": {"type": "array", "items": _GUIDE_PART,
                 "description": "Each day of the month up to today"},
        "channels": {"type": "array", "items": _GUIDE_PART}},
    "required": ["month", "guide_id", "rank", "guides_ranked", "distinct_counts", "totals",
                 "days", "channels"],
}

CAMPAIGNS_QUERY = {
    "type": "object",
    "properties": {**_RANGE, "kind": {"enum": list(campaigns.KINDS)}, "format": _FORMAT},
    "required": ["from", "to"],
}

_CAMPAIGN_ROW = {"type": "object", "properties": {
    "kind": {"enum": list(campaigns.KINDS)}, "campaign_id": {"type": "string"},
    "name": {"type": ["string", "null"]},
    "orders": _FEN, "units": _OR_NULL, "gmv_fen": _FEN, "refunded_fen": _OR_NULL,
    "net_fen": _OR_NULL, "buyers": _FEN,
    "new_buyers": {**_OR_NULL, "description": "Buyers whose first paid order it was"},
    "discount_fen": {**_OR_NULL, "description": "What the coupon took off; null where the "
                                                "figures keep no discount"},
    "reached": {**_OR_NULL, "description": "A live session's viewers; the members "
                                           "reactivation contacted"},
    "conversion": {"type": ["number", "null"],
                   "description": "Live: buyers / viewers; reactivation: reactivated / "
                                  "contacted"}},
    "required": list(campaigns.COLUMNS)}

CAMPAIGNS = {
    "type": "object",
    "properties": {"from": {"type": "string"}, "to": {"type": "string"},
                   "kind": {"type": ["string", "null"]},
                   "distinct_counts": {"enum": ["exact", "upper_bound"]},
                   "rows": {"type": "array", "items": _CAMPAIGN_ROW}},
    "required": ["from", "to", "kind", "distinct_counts", "rows"],
}

MEMBERS_QUERY = {
    "type": "object",
    "properties": {**_RANGE, "store_id": _ID, "format": _FORMAT},
    "required": ["from", "to"],
}

_MEMBER_ROW = {"type": "object", "properties": {
    "key": {"type": "string"}, **{name: _FEN for name in MEMBER_FIGURES},
    **{name: _OR_NULL for name in (*UNKNOWN_OVER_RANGES, "members")}},
    "required": ["key", *MEMBER_FIGURES]}

MEMBERS = {
    "type": "object",
    "properties": {"from": {"type": "string"}, "to": {"type": "string"},
                   "store_id": {"type": ["string", "null"]},
                   "distinct_counts": {"enum": ["exact", "upper_bound"]},
                   "rows": {"type": "array", "items": _MEMBER_ROW}, "totals": _MEMBER_ROW},
    "required": ["from", "to", "distinct_counts", "rows", "totals"],
}

LTV_QUERY = {
    "type": "object",
    "properties": {"cohort_from": {**_MONTH, "description": "First cohort, YYYY-MM"},
                   "cohort_to": {**_MONTH, "description": "Last cohort, YYYY-MM"},
                   "format": _FORMAT},
    "required": ["cohort_from", "cohort_to"],
}

_LTV_ROW = {"type": "object", "properties": {
    "key": {"type": "string"}, **{name: _FEN for name in LTV_FIGURES}},
    "required": ["key", *LTV_FIGURES]}

LTV = {
    "type": "object",
    "properties": {"cohort_from": {"type": "string"}, "cohort_to": {"type": "string"},
                   "rows": {"type": "array", "items": _LTV_ROW}},
    "required": ["cohort_from", "cohort_to", "rows"],
}
