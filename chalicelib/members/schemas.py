MEMBER = {
    "type": "object",
    "properties": {
        "member_id": {"type": "string"},
        "openid": {"type": "string"},
        "unionid": {"type": ["string", "null"]},
        "phone": {"type": ["string", "null"]},
        "nickname": {"type": ["string", "null"]},
        "avatar_url": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
    },
    "required": ["member_id", "created_at"],
}

LOGIN = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "minLength": 1, "maxLength": 128,
                 "description": "The code from wx.login()"},
    },
    "required": ["code"],
    "additionalProperties": False,
}

REFRESH = {
    "type": "object",
    "properties": {"refresh_token": {"type": "string", "minLength": 1, "maxLength": 1024}},
    "required": ["refresh_token"],
    "additionalProperties": False,
}

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
