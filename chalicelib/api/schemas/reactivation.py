from chalicelib.api.schemas import DAY as _DAY
from chalicelib.core.pagination import PAGE_QUERY


CONFIG = {
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean", "description": "The daily job contacts no one while false"},
        "dormant_days": {"type": "integer", "minimum": 7, "maximum": 730,
                         "description": "Days without an order that make a member dormant"},
        "coupon_id": {"type": ["string", "null"], "maxLength": 64,
                      "description": "The come-back coupon granted with the message"},
        "cooldown_days": {"type": "integer", "minimum": 1, "maximum": 730,
                          "description": "Days before the same member may be contacted again"},
        "daily_cap": {"type": "integer", "minimum": 0, "maximum": 1_000_000,
                      "description": "Contacts (messages and tasks) at most per day"},
        "reactivated_within_days": {"type": "integer", "minimum": 1, "maximum": 365,
                                    "description": "An order within this many days of the "
                                                   "contact counts as a reactivation"},
    },
    "required": ["enabled", "dormant_days", "coupon_id", "cooldown_days", "daily_cap",
                 "reactivated_within_days"],
    "additionalProperties": False,
}

REPORT_QUERY = {
    "type": "object",
    "properties": {"from": {**_DAY, "description": "First day (Asia/Shanghai), inclusive"},
                   "to": {**_DAY, "description": "Last day, inclusive; at most 92 days"}},
    "required": ["from", "to"],
}

_FIGURES = {
    "type": "object",
    "properties": {name: {"type": "integer"} for name in (
        "dormant_found", "contacted_by_message", "handed_to_guides", "coupons_used",
        "reactivated", "gmv_fen")},
}

REPORT = {
    "type": "object",
    "properties": {
        "from": {"type": "string"}, "to": {"type": "string"},
        "brand": _FIGURES,
        "stores": {"type": "object", "additionalProperties": _FIGURES},
        "guides": {"type": "object", "additionalProperties": _FIGURES},
    },
    "required": ["from", "to", "brand", "stores", "guides"],
}

TASK = {
    "type": "object",
    "properties": {
        "task_id": {"type": "string"}, "kind": {"type": "string"},
        "member_id": {"type": "string"}, "member_name": {"type": ["string", "null"]},
        "phone": {"type": ["string", "null"]}, "store_id": {"type": ["string", "null"]},
        "guide_id": {"type": ["string", "null"]},
        "member_coupon_id": {"type": ["string", "null"]}, "note": {"type": ["string", "null"]},
        "status": {"enum": ["open", "done"]}, "created_at": {"type": "string"},
        "done_at": {"type": ["string", "null"]},
    },
    "required": ["task_id", "member_id", "status", "created_at"],
}

TASKS = {
    "type": "object",
    "properties": {"tasks": {"type": "array", "items": TASK},
                   "next_cursor": {"type": ["string", "null"]}},
    "required": ["tasks"],
}

TASKS_QUERY = PAGE_QUERY
