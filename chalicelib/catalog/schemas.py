_NUMBER_TEXT = "^-?[0-9]{1,3}(\\.[0-9]{1,8})?$"

STORE = {
    "type": "object",
    "properties": {
        "store_id": {"type": "string"}, "name": {"type": "string"},
        "ownership": {"enum": ["direct", "franchise", "joint"]},
        "city": {"type": "string"}, "address": {"type": "string"},
        "lat": {"type": "number"}, "lng": {"type": "number"},
        "opening_hours": {"type": "string"}, "open_now": {"type": "boolean"},
        "offers_pickup": {"type": "boolean"}, "delivery_radius_m": {"type": "integer"},
        "status": {"enum": ["active", "closed"]},
        "distance_m": {"type": "integer"},
    },
    "required": ["store_id", "name", "lat", "lng", "open_now"],
}

STORE_LIST = {"type": "object",
              "properties": {"stores": {"type": "array", "items": STORE}},
              "required": ["stores"]}

NEAREST_QUERY = {
    "type": "object",
    "properties": {
        "lat": {"type": "string", "pattern": _NUMBER_TEXT},
        "lng": {"type": "string", "pattern": _NUMBER_TEXT},
        "radius_m": {"type": "string", "pattern": "^[0-9]{1,5}$",
                     "description": "Search radius in metres, at most 19000 (default 5000)"},
        "limit": {"type": "string", "pattern": "^([1-9]|[1-4][0-9]|50)$"},
        "sku_id": {"type": "string", "minLength": 1, "maxLength": 64,
                   "description": "Only stores with this SKU in stock"},
        "include_closed": {"enum": ["true", "false"],
                           "description": "Also stores outside their opening hours"},
    },
    "required": ["lat", "lng"],
}

_STORE_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 40},
    "ownership": {"enum": ["direct", "franchise", "joint"]},
    "city": {"type": "string", "minLength": 1, "maxLength": 20},
    "address": {"type": "string", "minLength": 1, "maxLength": 120},
    "lat": {"type": "number", "minimum": -90, "maximum": 90},
    "lng": {"type": "number", "minimum": -180, "maximum": 180},
    "opening_hours": {"type": "string",
                      "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$"},
    "offers_pickup": {"type": "boolean"},
    "delivery_radius_m": {"type": "integer", "minimum": 0, "maximum": 50_000},
    "status": {"enum": ["active", "closed"]},
}

NEW_STORE = {
    "type": "object",
    "properties": {"store_id": {"type": "string", "pattern": "^[a-z0-9-]{3,40}$"},
                   **_STORE_FIELDS},
    "required": ["name", "ownership", "city", "address", "lat", "lng", "opening_hours"],
    "additionalProperties": False,
}

STORE_CHANGES = {"type": "object", "properties": _STORE_FIELDS, "minProperties": 1,
                 "additionalProperties": False}

STOCK = {"type": "object",
         "properties": {"store_id": {"type": "string"}, "sku_id": {"type": "string"},
                        "quantity": {"type": "integer"}},
         "required": ["store_id", "sku_id", "quantity"]}

_REASON = {"type": "string", "minLength": 1, "maxLength": 200}

STOCK_ADJUSTMENT = {
    "type": "object",
    "properties": {"delta": {"type": "integer", "minimum": -100_000, "maximum": 100_000,
                             "description": "Units to add (positive) or take (negative)"},
                   "reason": _REASON},
    "required": ["delta", "reason"],
    "additionalProperties": False,
}

STOCK_COUNT = {
    "type": "object",
    "properties": {"quantity": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                   "reason": _REASON},
    "required": ["quantity", "reason"],
    "additionalProperties": False,
}

STOCK_MOVEMENTS = {
    "type": "object",
    "properties": {"movements": {"type": "array", "items": {
        "type": "object",
        "properties": {"movement_id": {"type": "string"}, "delta": {"type": "integer"},
                       "reason": {"type": "string"}, "by": {"type": "string"},
                       "at": {"type": "string"}}}},
        "next_cursor": {"type": ["string", "null"]}},
    "required": ["movements"],
}
