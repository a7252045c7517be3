from chalicelib.api.schemas.checkout import ADDRESS, SKU_ID, STORE_ID, WHEN

NEW_CAMPAIGN = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 40},
        "items": {"type": "array", "minItems": 1, "maxItems": 10, "items": {
            "type": "object",
            "properties": {"sku_id": SKU_ID,
                           "group_price_fen": {"type": "integer", "minimum": 1,
                                               "maximum": 100_000_000}},
            "required": ["sku_id", "group_price_fen"], "additionalProperties": False}},
        "stores": {"type": ["array", "null"], "minItems": 1, "maxItems": 500,
                   "uniqueItems": True, "items": STORE_ID},
        "group_size": {"type": "integer", "minimum": 2, "maximum": 10},
        "fill_minutes": {"type": "integer", "minimum": 5, "maximum": 7 * 24 * 60,
                         "description": "Time a group has to fill (default 24 hours)"},
        "per_member_limit": {"type": "integer", "minimum": 1, "maximum": 99},
        "new_customers_only": {"type": "boolean",
                               "description": "拉新团: joiners must never have ordered"},
        "auto_complete": {"type": "boolean",
                          "description": "模拟成团: an unfilled group completes at expiry "
                                         "with its paid members, instead of failing"},
        "starts_at": WHEN, "ends_at": WHEN,
    },
    "required": ["name", "items", "group_size", "starts_at", "ends_at"],
    "additionalProperties": False,
}

STORE_CAMPAIGN = {**NEW_CAMPAIGN, "properties": {
    key: value for key, value in NEW_CAMPAIGN["properties"].items() if key != "stores"}}

GROUP = {
    "type": "object",
    "properties": {
        "group_id": {"type": "string", "description": "Also the scene of its share link"},
        "campaign_id": {"type": "string"}, "store_id": {"type": "string"},
        "sku_id": {"type": "string"},
        "status": {"enum": ["OPEN", "COMPLETED", "FAILED"]},
        "size": {"type": "integer"}, "seats_left": {"type": "integer"},
        "expires_at": {"type": "string"}, "seconds_left": {"type": "integer"},
        "members": {"type": "array", "items": {"type": "object", "properties": {
            "nickname": {"type": ["string", "null"]},
            "avatar_url": {"type": ["string", "null"]},
            "leader": {"type": "boolean"}, "paid": {"type": "boolean"}}}},
    },
    "required": ["group_id", "status", "size", "seats_left"],
}

CAMPAIGN = {
    "type": "object",
    "properties": {"campaign_id": {"type": "string"}, "name": {"type": "string"},
                   "group_size": {"type": "integer"},
                   "items": {"type": "array", "items": {"type": "object"}},
                   "starts_at": {"type": "string"}, "ends_at": {"type": "string"},
                   "open_groups": {"type": "array", "items": GROUP}},
    "required": ["campaign_id", "name", "group_size", "items"],
}

CAMPAIGNS = {"type": "object",
             "properties": {"group_buys": {"type": "array", "items": CAMPAIGN}},
             "required": ["group_buys"]}

CAMPAIGNS_QUERY = {"type": "object", "properties": {"store_id": STORE_ID},
                   "required": ["store_id"]}

OPEN_REQUEST = {
    "type": "object",
    "properties": {"store_id": STORE_ID, "sku_id": SKU_ID,
                   "quantity": {"type": "integer", "minimum": 1, "maximum": 99},
                   "fulfilment": {"enum": ["pickup", "delivery"]}, "address": ADDRESS},
    "required": ["store_id", "sku_id"],
    "additionalProperties": False,
}

JOIN_REQUEST = {
    "type": "object",
    "properties": {"quantity": {"type": "integer", "minimum": 1, "maximum": 99},
                   "fulfilment": {"enum": ["pickup", "delivery"]}, "address": ADDRESS},
    "additionalProperties": False,
}
