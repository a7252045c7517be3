SKU_ID = {"type": "string", "minLength": 1, "maxLength": 64}
STORE_ID = {"type": "string", "minLength": 1, "maxLength": 64}
WHEN = {"type": "string", "format": "date-time", "maxLength": 40,
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)?"
                   "(Z|[+-][0-9]{2}:[0-9]{2})$"}
ADDRESS = {"type": "object", "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 20},
    "phone": {"type": "string", "pattern": "^[0-9+-]{5,20}$"},
    "address": {"type": "string", "minLength": 1, "maxLength": 200}},
    "required": ["name", "phone", "address"], "additionalProperties": False}
_FEN = {"type": "integer", "minimum": 1, "maximum": 100_000_000}
_ORDER_STATUSES = ["PENDING_PAYMENT", "PAID", "SHIPPED", "COMPLETED", "CLOSED", "REFUNDED"]

CART_ADD = {"type": "object",
            "properties": {"sku_id": SKU_ID,
                           "quantity": {"type": "integer", "minimum": 1, "maximum": 99}},
            "required": ["sku_id", "quantity"], "additionalProperties": False}

CART_SET = {"type": "object",
            "properties": {"quantity": {"type": "integer", "minimum": 0, "maximum": 99}},
            "required": ["quantity"], "additionalProperties": False}

CART = {"type": "object",
        "properties": {"store_id": {"type": "string"},
                       "items": {"type": "array", "items": {
                           "type": "object",
                           "properties": {"sku_id": {"type": "string"},
                                          "quantity": {"type": "integer"},
                                          "price_fen": {"type": "integer"},
                                          "member_price_fen": {"type": "integer"},
                                          "fulfilment": {"type": "string"},
                                          "available": {"type": "integer"}},
                           "required": ["sku_id", "quantity", "fulfilment"]}}},
        "required": ["store_id", "items"]}

ORDER_REQUEST = {
    "type": "object",
    "properties": {
        "store_id": STORE_ID,
        "items": {"type": "array", "minItems": 1, "maxItems": 20, "items": {
            "type": "object",
            "properties": {"sku_id": SKU_ID,
                           "quantity": {"type": "integer", "minimum": 1, "maximum": 99}},
            "required": ["sku_id", "quantity"], "additionalProperties": False}},
        "fulfilment": {"enum": ["pickup", "delivery", "cloud_shelf"],
                       "description": "pickup at the store, delivery by the store, or "
                                      "delivery from the central warehouse (cloud shelf)"},
        "member_coupon_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "points": {"type": "integer", "minimum": 0, "maximum": 100_000_000,
                   "description": "Points offered to pay part of the order (capped by the "
                                  "program)"},
        "address": ADDRESS,
    },
    "required": ["store_id", "items"],
    "additionalProperties": False,
}

BREAKDOWN = {
    "type": "object",
    "properties": {
        "channel": {"type": "string"}, "fulfilment": {"type": "string"},
        "member_level": {"type": ["string", "null"]},
        "lines": {"type": "array", "items": {"type": "object", "properties": {
            "sku_id": {"type": "string"}, "quantity": {"type": "integer"},
            "unit_price_fen": {"type": "integer"}, "member_unit_price_fen": {"type": "integer"},
            "goods_fen": {"type": "integer"}, "coupon_discount_fen": {"type": "integer"},
            "points_fen": {"type": "integer"}, "payable_fen": {"type": "integer"}}}},
        "list_fen": {"type": "integer"}, "member_discount_fen": {"type": "integer"},
        "goods_fen": {"type": "integer"}, "coupon_discount_fen": {"type": "integer"},
        "member_coupon_id": {"type": ["string", "null"]},
        "points": {"type": "integer"}, "points_fen": {"type": "integer"},
        "delivery_fee_fen": {"type": "integer"}, "total_fen": {"type": "integer"},
    },
    "required": ["lines", "goods_fen", "coupon_discount_fen", "points_fen", "delivery_fee_fen",
                 "total_fen"],
}

ORDER = {
    "type": "object",
    "properties": {"order_id": {"type": "string"},
                   "status": {"enum": _ORDER_STATUSES},
                   "pickup_code": {"type": ["string", "null"]},
                   "delivery": {"type": ["object", "null"]},
                   "shipped_at": {"type": ["string", "null"]},
                   "completed_at": {"type": ["string", "null"]},
                   "refunded_fen": {"type": "integer"},
                   "flash_sale_id": {"type": ["string", "null"]},
                   "group_id": {"type": ["string", "null"],
                                "description": "The group-buy group this order holds a seat in"},
                   "awaiting_group": {"type": "boolean",
                                      "description": "Paid, waiting for the group to fill"},
                   "live_session_id": {"type": ["string", "null"],
                                       "description": "The live session it was bought in"},
                   "refunded_quantities": {"type": "object",
                                           "additionalProperties": {"type": "integer"}},
                   "store_id": {"type": "string"}, "channel": {"type": "string"},
                   "fulfilment": {"type": "string"}, "total_fen": {"type": "integer"},
                   "breakdown": BREAKDOWN, "guide_id": {"type": ["string", "null"]},
                   "created_at": {"type": "string"}, "pay_by": {"type": "string"},
                   "paid_at": {"type": ["string", "null"]}},
    "required": ["order_id", "status", "total_fen", "breakdown"],
}

ORDERS = {"type": "object",
          "properties": {"orders": {"type": "array", "items": ORDER},
                         "next_cursor": {"type": ["string", "null"]}},
          "required": ["orders", "next_cursor"]}

NEW_COUPON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 20},
        "kind": {"enum": ["fixed", "percent"]},
        "amount_fen": _FEN,
        "percent_off": {"type": "integer", "minimum": 1, "maximum": 90},
        "cap_fen": _FEN,
        "threshold_fen": {"type": "integer", "minimum": 0, "maximum": 100_000_000},
        "store_id": STORE_ID,
        "channels": {"type": "array", "minItems": 1, "uniqueItems": True,
                     "items": {"enum": ["mall", "flash_sale", "group_buy", "live"]}},
        "valid_from": WHEN, "valid_until": WHEN,
        "per_member_limit": {"type": "integer", "minimum": 1, "maximum": 100},
        "total": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
        "visibility": {"enum": ["public", "granted"], "default": "public",
                       "description": "public: listed and claimable; granted: never listed, "
                                      "only given (reactivation, campaigns, admins)"},
    },
    "required": ["name", "kind", "valid_from", "valid_until", "total"],
    "additionalProperties": False,
}

COUPON = {"type": "object",
          "properties": {"coupon_id": {"type": "string"}, "name": {"type": "string"},
                         "kind": {"type": "string"}, "left": {"type": "integer"},
                         "visibility": {"enum": ["public", "granted"]}},
          "required": ["coupon_id", "name", "kind", "visibility"]}

COUPON_GRANT = {"type": "object",
                "properties": {"coupon_id": {"type": "string", "minLength": 1, "maxLength": 64}},
                "required": ["coupon_id"],
                "additionalProperties": False}

COUPONS = {"type": "object",
           "properties": {"coupons": {"type": "array", "items": COUPON}},
           "required": ["coupons"]}

COUPONS_QUERY = {"type": "object", "properties": {"store_id": STORE_ID},
                 "required": ["store_id"]}

MEMBER_COUPON = {"type": "object",
                 "properties": {"member_coupon_id": {"type": "string"},
                                "status": {"enum": ["available", "used"]},
                                "coupon_id": {"type": "string"}},
                 "required": ["member_coupon_id", "status", "coupon_id"]}

MEMBER_COUPONS = {"type": "object",
                  "properties": {"coupons": {"type": "array", "items": MEMBER_COUPON}},
                  "required": ["coupons"]}

MEMBER_COUPONS_QUERY = {"type": "object",
                        "properties": {"status": {"enum": ["available", "used"]}}}

PAYMENT = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string"}, "total_fen": {"type": "integer"},
        "request_payment": {
            "type": "object",
            "description": "Pass as is to wx.requestPayment",
            "properties": {"appId": {"type": "string"}, "timeStamp": {"type": "string"},
                           "nonceStr": {"type": "string"}, "package": {"type": "string"},
                           "signType": {"type": "string"}, "paySign": {"type": "string"}},
            "required": ["timeStamp", "nonceStr", "package", "signType", "paySign"]},
    },
    "required": ["order_id", "total_fen", "request_payment"],
}

WECHAT_XML = {"type": "string", "description": "WeChat Pay's XML"}

PICKUP = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[0-9]{6}$"}},
          "required": ["code"], "additionalProperties": False}

STORE_ORDERS_QUERY = {
    "type": "object",
    "properties": {
        "day": {"type": "string", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
                "description": "YYYY-MM-DD in Asia/Shanghai; today if left out"},
        "status": {"enum": _ORDER_STATUSES},
        "limit": {"type": "string", "pattern": "^([1-9]|[1-9][0-9]|100)$"},
        "cursor": {"type": "string", "maxLength": 2048},
    },
}

_REASON = {"type": "string", "minLength": 1, "maxLength": 200}

MY_REFUND = {"type": "object", "properties": {"reason": _REASON}, "required": ["reason"],
             "additionalProperties": False}

STAFF_REFUND = {
    "type": "object",
    "properties": {
        "reason": _REASON,
        "lines": {"type": "array", "minItems": 1, "maxItems": 100,
                  "description": "Units to refund; leave out to refund all that is left",
                  "items": {"type": "object",
                            "properties": {"sku_id": SKU_ID,
                                           "quantity": {"type": "integer", "minimum": 1,
                                                        "maximum": 999}},
                            "required": ["sku_id", "quantity"],
                            "additionalProperties": False}},
    },
    "required": ["reason"],
    "additionalProperties": False,
}

REFUND = {
    "type": "object",
    "properties": {
        "refund_id": {"type": "string"}, "order_id": {"type": "string"},
        "kind": {"enum": ["goods", "late_payment"]},
        "status": {"enum": ["REQUESTED", "PROCESSING", "SUCCESS", "FAILED", "CHANGE"],
                   "description": "REQUESTED: WeChat has not accepted it yet (asked again "
                                  "every few minutes); PROCESSING: accepted, money on its "
                                  "way; CHANGE: WeChat could not pay it out, the store "
                                  "resolves it"},
        "lines": {"type": "array", "items": {"type": "object", "properties": {
            "sku_id": {"type": "string"}, "quantity": {"type": "integer"},
            "refund_fen": {"type": "integer"}}}},
        "refund_fen": {"type": "integer"}, "delivery_fee_fen": {"type": "integer"},
        "points": {"type": "integer"}, "reason": {"type": ["string", "null"]},
        "requested_at": {"type": "string"}, "settled_at": {"type": ["string", "null"]},
        "goods_return": {"enum": ["awaited", "returned", None],
                         "description": "goods already handed over: awaited back, then "
                                        "returned (stock again) when staff confirm it"},
    },
    "required": ["refund_id", "order_id", "status", "refund_fen"],
}

REFUND_RESOLUTION = {
    "type": "object",
    "properties": {"outcome": {"enum": ["settled", "released"],
                               "description": "settled: the money was re-sent by hand; "
                                              "released: the units may be refunded again"}},
    "required": ["outcome"],
    "additionalProperties": False,
}

REFUNDS = {"type": "object", "properties": {"refunds": {"type": "array", "items": REFUND}},
           "required": ["refunds"]}

SHIPMENT = {"type": "object",
            "properties": {"carrier": {"type": "string", "minLength": 1, "maxLength": 40},
                           "tracking_no": {"type": "string", "minLength": 1,
                                           "maxLength": 40}},
            "additionalProperties": False}
