from chalicelib.api.schemas.checkout import SKU_ID, STORE_ID, WHEN
from chalicelib.api.schemas.flash import ORDER_REQUEST as _FLASH_ORDER_REQUEST

_ID = {"type": "string", "minLength": 1, "maxLength": 64}

_TERMS = {
    "title": {"type": "string", "minLength": 1, "maxLength": 60},
    "room": {"type": "object", "description": "The external room: a mini-program live room "
                                              "(room id) or a Channels live (finder id)",
             "properties": {"kind": {"enum": ["miniprogram_live", "channels"]},
                            "id": {"type": "string", "minLength": 1, "maxLength": 128}},
             "required": ["kind", "id"], "additionalProperties": False},
    "lineup": {"type": "array", "minItems": 1, "maxItems": 50, "items": {
        "type": "object",
        "properties": {"sku_id": SKU_ID,
                       "live_price_fen": {"type": "integer", "minimum": 1,
                                          "maximum": 100_000_000},
                       "quantity": {"type": "integer", "minimum": 1, "maximum": 1_000_000,
                                    "description": "Live-only units, taken out of regular "
                                                   "stock while the session is live"}},
        "required": ["sku_id", "live_price_fen", "quantity"], "additionalProperties": False}},
    "starts_at": WHEN, "ends_at": WHEN,
    "expected_peak_per_s": {"type": "integer", "minimum": 1, "maximum": 100_000,
                            "description": "Orders a second expected at the peak; sets how "
                                           "many shards hold the live stock (default 2000)"},
}
_REQUIRED = ["title", "room", "lineup", "starts_at", "ends_at"]

GUIDE_SESSION = {"type": "object", "properties": _TERMS, "required": _REQUIRED,
                 "additionalProperties": False}

NEW_SESSION = {"type": "object",
               "properties": {**_TERMS, "host_id": {**_ID, "description": "The host guide"},
                              "stores": {"type": ["array", "null"], "minItems": 1,
                                         "maxItems": 500, "uniqueItems": True,
                                         "items": STORE_ID,
                                         "description": "Where it sells; leave out for the "
                                                        "host's store"}},
               "required": [*_REQUIRED, "host_id"], "additionalProperties": False}

_LINEUP_ITEM = {"type": "object", "properties": {
    "sku_id": {"type": "string"}, "product_id": {"type": "string"}, "name": {"type": "string"},
    "live_price_fen": {"type": "integer"}, "quantity": {"type": "integer"},
    "remaining": {"type": "integer", "description": "Exact up to 10, then rounded down to "
                                                    "tens"}},
    "required": ["sku_id", "live_price_fen", "quantity", "remaining"]}

SESSION = {
    "type": "object",
    "properties": {
        "session_id": {"type": "string"}, "title": {"type": "string"},
        "status": {"enum": ["SCHEDULED", "LIVE", "ENDED"]},
        "approval": {"enum": ["pending", "approved", "rejected"],
                     "description": "A guide's session waits for its store manager (or an "
                                    "admin) to approve it before it can go live"},
        "approval_by": {"type": ["string", "null"]},
        "approval_at": {"type": ["string", "null"]},
        "host": {"type": "object", "properties": {"guide_id": {"type": "string"},
                                                  "name": {"type": ["string", "null"]}}},
        "stores": {"type": "array", "items": {"type": "string"}},
        "room": {"type": "object"},
        "starts_at": {"type": "string"}, "ends_at": {"type": "string"},
        "started_at": {"type": ["string", "null"]}, "ended_at": {"type": ["string", "null"]},
        "pinned": {"anyOf": [_LINEUP_ITEM, {"type": "null"}],
                   "description": "The product being presented (讲解中)"},
        "lineup": {"type": "array", "items": _LINEUP_ITEM},
    },
    "required": ["session_id", "status", "host", "starts_at", "ends_at", "lineup", "pinned"],
}

SESSIONS = {"type": "object",
            "properties": {"live_sessions": {"type": "array", "items": SESSION},
                           "next_cursor": {"type": ["string", "null"]}},
            "required": ["live_sessions"]}

SESSIONS_QUERY = {"type": "object", "properties": {"store_id": STORE_ID},
                  "required": ["store_id"]}

STORE_SESSIONS_QUERY = {"type": "object",
                        "properties": {"approval": {"enum": ["pending", "approved",
                                                             "rejected"]}}}

PIN = {"type": "object",
       "properties": {"sku_id": {"type": ["string", "null"], "minLength": 1, "maxLength": 64,
                                 "description": "null: nothing pinned"}},
       "required": ["sku_id"], "additionalProperties": False}

ENTERED = {"type": "object",
           "properties": {"session_id": {"type": "string"}, "live_token": {"type": "string"},
                          "expires_in": {"type": "integer"},
                          "expires_at": {"type": "string"},
                          "status": {"enum": ["SCHEDULED", "LIVE", "ENDED"]}},
           "required": ["session_id", "live_token", "expires_in"]}

ORDER_REQUEST = {
    **_FLASH_ORDER_REQUEST,
    "properties": {**_FLASH_ORDER_REQUEST["properties"],
                   "fulfilment": {"enum": ["pickup", "delivery"],
                                  "description": "For a one-store session; a session of "
                                                 "several stores ships from the central "
                                                 "warehouse"},
                   "live_token": {"type": "string", "maxLength": 1024,
                                  "description": "From POST /live-sessions/{id}/enter"}},
}

FIGURES = {
    "type": "object",
    "properties": {
        "session_id": {"type": "string"},
        "status": {"enum": ["SCHEDULED", "LIVE", "ENDED"]},
        "viewers": {"type": "integer", "description": "Distinct members who entered"},
        "orders": {"type": "integer", "description": "Paid orders"},
        "buyers": {"type": "integer", "description": "Distinct members with a paid order"},
        "gmv_fen": {"type": "integer"},
        "units": {"type": "array", "items": {"type": "object", "properties": {
            "sku_id": {"type": "string"}, "name": {"type": "string"},
            "units": {"type": "integer"}}}},
        "conversion": {"type": ["number", "null"],
                       "description": "buyers / viewers; null while no one entered"},
    },
    "required": ["session_id", "viewers", "orders", "buyers", "gmv_fen", "units",
                 "conversion"],
}

REMINDER = {"type": "object", "properties": {"session_id": {"type": "string"},
                                             "reminder": {"type": "boolean"}},
            "required": ["session_id", "reminder"]}
