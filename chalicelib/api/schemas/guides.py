from chalicelib.api.schemas import MONTH

NEW_LINK = {
    "type": "object",
    "properties": {"product_id": {"type": "string", "minLength": 1, "maxLength": 64,
                                  "description": "Leave out to share the store"}},
    "additionalProperties": False,
}

LINK = {
    "type": "object",
    "properties": {"scene": {"type": "string", "maxLength": 32},
                   "guide_id": {"type": "string"}, "store_id": {"type": "string"},
                   "product_id": {"type": ["string", "null"]}, "page": {"type": "string"},
                   "code_url": {"type": "string"}},
    "required": ["scene", "guide_id", "store_id", "page"],
}

BINDING_REQUEST = {
    "type": "object",
    "properties": {"scene": {"type": "string", "minLength": 1, "maxLength": 32}},
    "required": ["scene"],
    "additionalProperties": False,
}

BINDING = {
    "type": "object",
    "properties": {"action": {"enum": ["bound", "renewed", "kept", "rebound"]},
                   "guide_id": {"type": "string"}, "store_id": {"type": "string"}},
    "required": ["action", "guide_id", "store_id"],
}

REASSIGNMENT = {
    "type": "object",
    "properties": {"to_guide_id": {"type": "string", "minLength": 1, "maxLength": 64}},
    "required": ["to_guide_id"],
    "additionalProperties": False,
}

REASSIGNED = {"type": "object",
              "properties": {"moved": {"type": "integer"}, "to_guide_id": {"type": "string"}},
              "required": ["moved"]}

CUSTOMERS = {
    "type": "object",
    "properties": {"customers": {"type": "array", "items": {"type": "object"}},
                   "next_cursor": {"type": ["string", "null"]}},
    "required": ["customers"],
}

MONTH_QUERY = {
    "type": "object",
    "properties": {"month": {**MONTH,
                             "description": "YYYY-MM in Asia/Shanghai; this month if left out"}},
}

SALES_QUERY = {"type": "object",
               "properties": {**MONTH_QUERY["properties"],
                              "limit": {"type": "string",
                                        "pattern": "^([1-9]|[1-9][0-9]|100)$"},
                              "cursor": {"type": "string", "maxLength": 2048}}}

SALES = {
    "type": "object",
    "properties": {"orders": {"type": "array", "items": {
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "paid_at": {"type": "string"},
                       "member_id": {"type": "string"}, "store_id": {"type": "string"},
                       "channel": {"type": "string"}, "paid_fen": {"type": "integer"},
                       "refunded_fen": {"type": "integer"},
                       "commission_fen": {"type": "integer"},
                       "settled": {"type": "boolean"}},
        "required": ["order_id", "paid_at", "paid_fen", "commission_fen"]}},
        "next_cursor": {"type": ["string", "null"]}},
    "required": ["orders", "next_cursor"],
}

PERFORMANCE = {
    "type": "object",
    "properties": {"month": {"type": "string"}, "orders": {"type": "integer"},
                   "sales_fen": {"type": "integer"}, "refunded_fen": {"type": "integer"},
                   "commission_fen": {"type": "integer",
                                      "description": "Due on what stays paid"},
                   "settled_fen": {"type": "integer",
                                   "description": "Settled once return windows passed; above "
                                                  "commission_fen when later refunds took "
                                                  "some back"}},
    "required": ["month", "orders", "sales_fen", "refunded_fen", "commission_fen",
                 "settled_fen"],
}

GUIDE_INVITE = {"type": "object",
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 32}},
                "additionalProperties": False}
