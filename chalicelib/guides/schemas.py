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
