from chalicelib.api.schemas import DAY as _DAY
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

SALES_QUERY = {
    "type": "object",
    "properties": {
        "from": {**_DAY, "description": "First day (Asia/Shanghai), inclusive"},
        "to": {**_DAY, "description": f"Last day, inclusive; at most {MAX_REPORT_DAYS} days"},
        "store_id": _ID, "channel": {"enum": list(CHANNELS)},
        "group_by": {"enum": list(GROUPS), "default": "day"},
        "format": {"enum": ["json", "csv"], "default": "json"}},
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

MEMBERS_QUERY = {
    "type": "object",
    "properties": {
        "from": SALES_QUERY["properties"]["from"], "to": SALES_QUERY["properties"]["to"],
        "store_id": _ID, "format": SALES_QUERY["properties"]["format"]},
    "required": ["from", "to"],
}

_MEMBER_ROW = {"type": "object", "properties": {
    "key": {"type": "string"}, **{name: {"type": "integer"} for name in MEMBER_FIGURES},
    **{name: {"type": ["integer", "null"]} for name in UNKNOWN_OVER_RANGES}},
    "required": ["key", *MEMBER_FIGURES]}

MEMBERS = {
    "type": "object",
    "properties": {"from": {"type": "string"}, "to": {"type": "string"},
                   "store_id": {"type": ["string", "null"]},
                   "distinct_counts": {"enum": ["exact", "upper_bound"]},
                   "rows": {"type": "array", "items": _MEMBER_ROW}, "totals": _MEMBER_ROW},
    "required": ["from", "to", "distinct_counts", "rows", "totals"],
}

_MONTH = {"type": "string", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])$"}

LTV_QUERY = {
    "type": "object",
    "properties": {"cohort_from": {**_MONTH, "description": "First cohort, YYYY-MM"},
                   "cohort_to": {**_MONTH, "description": "Last cohort, YYYY-MM"},
                   "format": SALES_QUERY["properties"]["format"]},
    "required": ["cohort_from", "cohort_to"],
}

_LTV_ROW = {"type": "object", "properties": {
    "key": {"type": "string"}, **{name: {"type": "integer"} for name in LTV_FIGURES}},
    "required": ["key", *LTV_FIGURES]}

LTV = {
    "type": "object",
    "properties": {"cohort_from": {"type": "string"}, "cohort_to": {"type": "string"},
                   "rows": {"type": "array", "items": _LTV_ROW}},
    "required": ["cohort_from", "cohort_to", "rows"],
}
