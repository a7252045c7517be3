from chalicelib.api.schemas.checkout import ADDRESS, SKU_ID, STORE_ID, WHEN

_TERMS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 40},
    "items": {"type": "array", "minItems": 1, "maxItems": 5, "items": {
        "type": "object",
        "properties": {"sku_id": SKU_ID,
                       "flash_price_fen": {"type": "integer", "minimum": 1,
                                           "maximum": 100_000_000},
                       "quantity": {"type": "integer", "minimum": 1, "maximum": 1_000_000}},
        "required": ["sku_id", "flash_price_fen", "quantity"], "additionalProperties": False}},
    "per_member_limit": {"type": "integer", "minimum": 1, "maximum": 99},
    "starts_at": WHEN, "ends_at": WHEN,
    "reminders": {"type": "boolean", "description": "Members may ask to be reminded"},
    "expected_peak_per_s": {"type": "integer", "minimum": 1, "maximum": 100_000,
                            "description": "Orders a second expected at the start; sets "
                                           "how many shards hold the stock (default 2000)"},
}
_REQUIRED = ["name", "items", "per_member_limit", "starts_at", "ends_at"]

NEW_SALE = {"type": "object",
            "properties": {**_TERMS, "stores": {
                "type": ["array", "null"], "minItems": 1, "maxItems": 500,
                "uniqueItems": True, "items": STORE_ID,
                "description": "The stores it runs in; leave out for every store"}},
            "required": _REQUIRED, "additionalProperties": False}

STORE_SALE = {"type": "object", "properties": _TERMS, "required": _REQUIRED,
              "additionalProperties": False}

SALE = {
    "type": "object",
    "properties": {
        "sale_id": {"type": "string"}, "name": {"type": "string"},
        "status": {"enum": ["upcoming", "live", "sold_out", "ended"]},
        "starts_at": {"type": "string"}, "ends_at": {"type": "string"},
        "stores": {"type": ["array", "null"], "items": {"type": "string"}},
        "per_member_limit": {"type": "integer"}, "reminders": {"type": "boolean"},
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "sku_id": {"type": "string"}, "flash_price_fen": {"type": "integer"},
            "quantity": {"type": "integer"},
            "remaining": {"type": "integer",
                          "description": "Exact up to 10, then rounded down to tens"}}}},
    },
    "required": ["sale_id", "status", "starts_at", "ends_at", "items"],
}

SALES = {"type": "object", "properties": {"flash_sales": {"type": "array", "items": SALE}},
         "required": ["flash_sales"]}

SALES_QUERY = {"type": "object", "properties": {"store_id": STORE_ID},
               "required": ["store_id"]}

ORDER_REQUEST = {
    "type": "object",
    "properties": {"store_id": STORE_ID, "sku_id": SKU_ID,
                   "quantity": {"type": "integer", "minimum": 1, "maximum": 99},
                   "fulfilment": {"enum": ["pickup", "delivery"],
                                  "description": "For a store's own sale; a brand sale is "
                                                 "delivered from the central warehouse"},
                   "address": ADDRESS},
    "required": ["store_id", "sku_id", "quantity"],
    "additionalProperties": False,
}

REMINDER = {"type": "object", "properties": {"sale_id": {"type": "string"},
                                             "reminder": {"type": "boolean"}},
            "required": ["sale_id", "reminder"]}
