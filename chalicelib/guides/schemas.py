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
