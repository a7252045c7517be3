from chalicelib.core.pagination import PAGE_QUERY

_NULLABLE_STRING = {"type": ["string", "null"]}

SUBSCRIPTIONS = {
    "type": "object",
    "properties": {"accepted": {
        "type": "array", "maxItems": 20,
        "items": {"type": "string", "minLength": 1, "maxLength": 128},
        "description": "The template ids the member accepted in wx.requestSubscribeMessage "
                       "(those it answered 'accept' for)"}},
    "required": ["accepted"], "additionalProperties": False,
}

CREDITS = {
    "type": "object",
    "properties": {"credits": {"type": "array", "items": {
        "type": "object",
        "properties": {"template_id": {"type": "string"}, "event": {"type": "string"},
                       "credits": {"type": "integer",
                                   "description": "Messages of this template we may send"}}}}},
    "required": ["credits"],
}

NOTIFICATION = {
    "type": "object",
    "properties": {
        "notification_id": {"type": "string"}, "event": {"type": "string"},
        "template_id": {"type": "string"}, "page": {"type": "string"},
        "data": {"type": "object"},
        "status": {"enum": ["queued", "sending", "sent", "no_credit", "refused", "failed",
                            "unreachable"]},
        "errcode": {"type": ["integer", "null"]},
        "reason": {"type": "string", "description": "Why it was sent"},
        "attempts": {"type": "integer"},
        "created_at": {"type": "string"}, "sent_at": _NULLABLE_STRING,
    },
    "required": ["notification_id", "event", "template_id", "status", "reason", "created_at"],
}

NOTIFICATIONS = {
    "type": "object",
    "properties": {"notifications": {"type": "array", "items": NOTIFICATION},
                   "next_cursor": _NULLABLE_STRING},
    "required": ["notifications", "next_cursor"],
}

NOTIFICATIONS_QUERY = PAGE_QUERY
