from chalicelib.core.pagination import PAGE_QUERY
from chalicelib.members.rules import PROGRAM_SCHEMA

_NULLABLE_STRING = {"type": ["string", "null"]}

LEVEL = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                   "discount_percent": {"type": "integer"},
                   "points_multiplier_percent": {"type": "integer"}},
}

MEMBER = {
    "type": "object",
    "properties": {
        "member_id": {"type": "string"},
        "phone": _NULLABLE_STRING,
        "name": _NULLABLE_STRING,
        "nickname": _NULLABLE_STRING,
        "avatar_url": _NULLABLE_STRING,
        "home_store_id": _NULLABLE_STRING,
        "current_store_id": _NULLABLE_STRING,
        "guide_id": _NULLABLE_STRING,
        "level": LEVEL,
        "growth": {"type": "integer"},
        "points_balance": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
    },
    "required": ["member_id", "created_at", "level", "points_balance"],
}

MEMBER_FOR_STAFF = {
    **MEMBER,
    "properties": {**MEMBER["properties"],
                   "phone": {**_NULLABLE_STRING,
                             "description": "In full for brand admins; masked (138****5678) "
                                            "for store staff"},
                   "tags": {"type": "array", "items": {"type": "string"}},
                   "source": {"type": "string"},
                   "orders_count": {"type": "integer"},
                   "paid_total_fen": {"type": "integer"},
                   "blocked": {"type": "boolean"}},
}

def _wechat_code(description):
    return {
        "type": "object",
        "properties": {"code": {"type": "string", "minLength": 1, "maxLength": 128,
                                "description": description}},
        "required": ["code"],
        "additionalProperties": False,
    }


LOGIN = _wechat_code("The code from wx.login()")
PHONE_BIND = _wechat_code("The code from the getPhoneNumber button")

REFRESH = {
    "type": "object",
    "properties": {"refresh_token": {"type": "string", "minLength": 1, "maxLength": 1024}},
    "required": ["refresh_token"],
    "additionalProperties": False,
}

SIGNED_OUT = {"type": "object", "properties": {"signed_out": {"type": "boolean"}},
              "required": ["signed_out"]}

SESSION = {
    "type": "object",
    "properties": {
        "access_token": {"type": "string"},
        "expires_in": {"type": "integer", "description": "Seconds until the access token expires"},
        "refresh_token": {"type": "string"},
        "member": MEMBER,
    },
    "required": ["access_token", "expires_in", "refresh_token"],
}

STORE_CHOICE = {
    "type": "object",
    "properties": {"store_id": {"type": "string", "minLength": 1, "maxLength": 64}},
    "required": ["store_id"],
    "additionalProperties": False,
}

POINTS_ENTRY = {
    "type": "object",
    "properties": {
        "seq": {"type": "integer"}, "delta": {"type": "integer"},
        "balance_after": {"type": "integer"},
        "debt_change": {"type": "integer",
                        "description": "a credit paying debt (negative), a clawback the "
                                       "balance could not cover (positive)"},
        "debt_after": {"type": "integer"}, "source": {"type": "string"},
        "source_id": {"type": "string"}, "created_at": {"type": "string"},
        "expires_at": _NULLABLE_STRING, "note": _NULLABLE_STRING,
    },
}

POINTS_PAGE = {
    "type": "object",
    "properties": {"balance": {"type": "integer"},
                   "debt": {"type": "integer",
                            "description": "points taken back that the balance did not "
                                           "have; the next credits pay it first"},
                   "entries": {"type": "array", "items": POINTS_ENTRY},
                   "next_cursor": _NULLABLE_STRING},
    "required": ["balance", "entries"],
}

POINTS_ADJUSTMENT = {
    "type": "object",
    "properties": {
        "delta": {"type": "integer", "minimum": -10_000_000, "maximum": 10_000_000,
                  "description": "Points to add (positive) or take (negative); not 0"},
        "reason": {"type": "string", "minLength": 1, "maxLength": 200},
        "adjustment_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$",
                          "description": "Chosen by the client; the same id never applies twice"},
    },
    "required": ["delta", "reason", "adjustment_id"],
    "additionalProperties": False,
}

TAG = {"type": "string", "pattern": "^[0-9A-Za-z_\u4e00-\u9fff-]{1,20}$"}

TAG_BODY = {"type": "object", "properties": {"tag": TAG}, "required": ["tag"],
            "additionalProperties": False}

MEMBER_SEARCH_QUERY = {
    "type": "object",
    "properties": {
        "phone": {"type": "string", "pattern": "^\\+?[0-9 -]{5,20}$"},
        "tags": {"type": "string", "minLength": 1, "maxLength": 210,
                 "description": "Comma-separated tags; members carrying all of them"},
        "store_id": {"type": "string", "minLength": 1, "maxLength": 64},
        **PAGE_QUERY["properties"],
    },
}

MEMBER_SEARCH = {
    "type": "object",
    "properties": {"members": {"type": "array", "items": MEMBER_FOR_STAFF},
                   "next_cursor": _NULLABLE_STRING},
    "required": ["members"],
}

STAFF = {
    "type": "object",
    "properties": {"member_id": {"type": "string"}, "role": {"type": "string"},
                   "store_id": _NULLABLE_STRING, "name": _NULLABLE_STRING,
                   "joined_at": {"type": "string"}},
    "required": ["member_id", "role"],
}

STAFF_REMOVAL_QUERY = {
    "type": "object",
    "properties": {"to_guide_id": {"type": "string", "minLength": 1, "maxLength": 64,
                                   "description": "A leaving guide's customers go to this "
                                                  "guide of the same store; to the store (no "
                                                  "guide) if left out"}},
}

STAFF_REMOVED = {
    **STAFF,
    "properties": {**STAFF["properties"], "ended_at": {"type": "string"},
                   "customers_moved": {"type": "integer"},
                   "to_guide_id": _NULLABLE_STRING},
    "required": [*STAFF["required"], "ended_at", "customers_moved"],
}

STAFF_LIST = {"type": "object",
              "properties": {"staff": {"type": "array", "items": STAFF}},
              "required": ["staff"]}

INVITE = {
    "type": "object",
    "properties": {
        "role": {"enum": ["admin", "store_manager", "clerk", "guide"]},
        "store_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "name": {"type": "string", "minLength": 1, "maxLength": 32},
    },
    "required": ["role"],
    "additionalProperties": False,
}

INVITATION = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "role": {"type": "string"},
                   "store_id": _NULLABLE_STRING, "expires_at": {"type": "string"}},
    "required": ["code", "role", "expires_at"],
}

CLAIM = {
    "type": "object",
    "properties": {"code": {"type": "string", "minLength": 4, "maxLength": 32}},
    "required": ["code"],
    "additionalProperties": False,
}

IMPORT_CSV = {"type": "string", "description": "CSV with a header row: phone,name,level,"
                                               "points,store_id,joined_on"}

IMPORT_REPORT = {
    "type": "object",
    "properties": {
        "rows": {"type": "integer"}, "imported": {"type": "integer"},
        "already_members": {"type": "integer"},
        "rejected": {"type": "array", "items": {
            "type": "object",
            "properties": {"row": {"type": "integer"}, "phone": _NULLABLE_STRING,
                           "error": {"type": "string"}}},
                     "description": "The first 100 rejected rows"},
        "rejected_count": {"type": "integer", "description": "All the rejected rows"},
    },
    "required": ["rows", "imported", "already_members", "rejected", "rejected_count"],
}

PROGRAM = PROGRAM_SCHEMA
