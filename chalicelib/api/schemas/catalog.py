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

_ID = {"type": "string", "pattern": "^[a-z0-9-]{3,40}$"}
_PRICE = {"type": "integer", "minimum": 1, "maximum": 100_000_000, "description": "fen"}
_SORT_ORDER = {"type": "integer", "minimum": 0, "maximum": 99_999,
               "description": "Position in lists, lowest first"}

CATEGORY = {"type": "object",
            "properties": {"category_id": {"type": "string"}, "name": {"type": "string"},
                           "sort_order": {"type": "integer"}},
            "required": ["category_id", "name", "sort_order"]}

CATEGORIES = {"type": "object",
              "properties": {"categories": {"type": "array", "items": CATEGORY}},
              "required": ["categories"]}

_CATEGORY_FIELDS = {"name": {"type": "string", "minLength": 1, "maxLength": 20},
                    "sort_order": _SORT_ORDER}

NEW_CATEGORY = {"type": "object", "properties": {"category_id": _ID, **_CATEGORY_FIELDS},
                "required": ["name"], "additionalProperties": False}

CATEGORY_CHANGES = {"type": "object", "properties": _CATEGORY_FIELDS, "minProperties": 1,
                    "additionalProperties": False}

_SKU_FIELDS = {
    "specs": {"type": "object", "maxProperties": 5,
              "propertyNames": {"minLength": 1, "maxLength": 20},
              "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 40},
              "description": "Spec name to value, for example {\"size\": \"L\"}"},
    "base_price_fen": _PRICE,
}

NEW_SKU = {"type": "object", "properties": {"sku_id": _ID, **_SKU_FIELDS},
           "required": ["base_price_fen"], "additionalProperties": False}

SKU_CHANGES = {"type": "object", "properties": _SKU_FIELDS, "minProperties": 1,
               "additionalProperties": False}

SKU = {"type": "object",
       "properties": {"sku_id": {"type": "string"}, "specs": {"type": "object"},
                      "base_price_fen": {"type": "integer"}},
       "required": ["sku_id", "specs", "base_price_fen"]}

_PRODUCT_FIELDS = {
    "category_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "name": {"type": "string", "minLength": 1, "maxLength": 60},
    "description": {"type": "string", "maxLength": 2000},
    "image_urls": {"type": "array", "maxItems": 9,
                   "items": {"type": "string", "pattern": "^https://[^\\s]{1,500}$"}},
    "sort_order": _SORT_ORDER,
    "on_sale": {"type": "boolean"},
    "cloud_shelf": {"type": "boolean",
                    "description": "Sold in every store, from the central warehouse where the "
                                   "store has none"},
}

NEW_PRODUCT = {
    "type": "object",
    "properties": {"product_id": _ID, **_PRODUCT_FIELDS,
                   "skus": {"type": "array", "minItems": 1, "maxItems": 20, "items": NEW_SKU}},
    "required": ["category_id", "name", "skus"],
    "additionalProperties": False,
}

PRODUCT_CHANGES = {"type": "object", "properties": _PRODUCT_FIELDS, "minProperties": 1,
                   "additionalProperties": False}

PRODUCT = {"type": "object",
           "properties": {"product_id": {"type": "string"}, **_PRODUCT_FIELDS,
                          "skus": {"type": "array", "items": SKU}},
           "required": ["product_id", "category_id", "name", "skus"]}

STORE_PRICE = {"type": "object", "properties": {"price_fen": _PRICE},
               "required": ["price_fen"], "additionalProperties": False}

PROMOTION_SETTINGS = {
    "type": "object",
    "properties": {"min_promotion_price_percent": {
        "type": "integer", "minimum": 1, "maximum": 100,
        "description": "The brand's floor: no flash, group or live price below the brand's "
                       "may be under this percent of it (rounded up to the fen); default 50"}},
    "required": ["min_promotion_price_percent"], "additionalProperties": False}

STORE_PRICE_SET = {"type": "object",
                   "properties": {"store_id": {"type": "string"}, "sku_id": {"type": "string"},
                                  "price_fen": {"type": ["integer", "null"]}},
                   "required": ["store_id", "sku_id", "price_fen"]}

_FULFILMENT = {"enum": ["store", "cloud_shelf", "sold_out"],
               "description": "store: from this store's stock; cloud_shelf: from the central "
                              "warehouse (云货架); sold_out: not to be had here now"}
_MEMBER_LEVEL = {"type": ["object", "null"],
                 "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
                 "description": "The level whose prices are shown; null for a visitor"}
_MAYBE_FEN = {"type": ["integer", "null"]}

SHELF_QUERY = {
    "type": "object",
    "properties": {"category_id": {"type": "string", "minLength": 1, "maxLength": 64},
                   "limit": {"type": "string", "pattern": "^([1-9]|[1-4][0-9]|50)$"},
                   "cursor": {"type": "string", "maxLength": 2048}},
    "required": ["category_id"],
}

SHELF = {
    "type": "object",
    "properties": {
        "store_id": {"type": "string"}, "category_id": {"type": "string"},
        "member_level": _MEMBER_LEVEL,
        "products": {"type": "array", "items": {
            "type": "object",
            "properties": {"product_id": {"type": "string"}, "name": {"type": "string"},
                           "image_url": {"type": ["string", "null"]},
                           "cloud_shelf": {"type": "boolean"},
                           "price_fen": _MAYBE_FEN, "member_price_fen": _MAYBE_FEN,
                           "fulfilment": _FULFILMENT},
            "required": ["product_id", "name", "price_fen", "member_price_fen",
                         "fulfilment"]}},
        "next_cursor": {"type": ["string", "null"]},
    },
    "required": ["store_id", "products", "next_cursor"],
}

PRODUCT_IN_STORE = {
    "type": "object",
    "properties": {
        "product_id": {"type": "string"}, "category_id": {"type": "string"},
        "name": {"type": "string"}, "description": {"type": "string"},
        "image_urls": {"type": "array", "items": {"type": "string"}},
        "cloud_shelf": {"type": "boolean"}, "store_id": {"type": "string"},
        "member_level": _MEMBER_LEVEL,
        "skus": {"type": "array", "items": {
            "type": "object",
            "properties": {"sku_id": {"type": "string"}, "specs": {"type": "object"},
                           "base_price_fen": {"type": "integer"},
                           "price_fen": {"type": "integer",
                                         "description": "This store's price"},
                           "member_price_fen": {"type": "integer",
                                                "description": "The caller's price"},
                           "store_stock": {"type": "integer"},
                           "available": {"type": "integer"},
                           "fulfilment": _FULFILMENT},
            "required": ["sku_id", "price_fen", "member_price_fen", "available",
                         "fulfilment"]}},
    },
    "required": ["product_id", "name", "skus"],
}
