"""One error shape for every client: {"error": {"code": "...", "message": "..."}}."""

STATUS_BY_CODE = {
    "bad_request": 400,
    "validation_error": 400,
    "invalid_json": 400,
    "wechat_code_invalid": 400,
    "unauthorized": 401,
    "token_expired": 401,
    "forbidden": 403,
    "member_blocked": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "phone_taken": 409,
    "insufficient_points": 409,
    "insufficient_stock": 409,
    "brand_priced": 409,  # a direct store sells at the brand's price
    "price_below_floor": 409,  # a promotion price under the brand's floor
    "too_many_pending_orders": 409,
    "pending_units_limit": 409,
    "coupon_unusable": 409,
    "coupon_unavailable": 409,
    "idempotency_key_reused": 409,
    "order_not_payable": 409,
    "order_not_shippable": 409,
    "refund_not_allowed": 409,
    "nothing_to_refund": 409,
    "refund_in_progress": 409,  # the goods stay until the order's refund has settled
    "sold_out": 409,
    "flash_sale_not_live": 409,
    "flash_sale_limit": 409,
    "flash_sale_started": 409,
    "flash_sale_over": 409,
    "group_full": 409,
    "group_buy_limit": 409,
    "group_buy_not_live": 409,
    "group_buy_new_customers_only": 409,
    "live_session_not_live": 409,
    "live_session_over": 409,
    "live_session_not_approved": 409,
    "self_referral": 409,  # a guide's own link binds nobody to themselves
    "last_admin": 409,  # the brand keeps at least one admin
    "live_token_invalid": 403,
    "live_token_expired": 403,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "too_many_requests": 429,  # API Gateway's throttle and the WAF's rate rule answer it too
    "internal_error": 500,
    "wechat_unavailable": 502,
    "service_unavailable": 503,
}


class DomainError(Exception):
    """A rule the request broke; the code picks the HTTP status."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self):
        return STATUS_BY_CODE.get(self.code, 400)


def error_body(code, message):
    return {"error": {"code": code, "message": message}}


def error_response(code, message, status=None):
    from chalice import Response

    status = status or STATUS_BY_CODE.get(code, 400)
    return Response(body=error_body(code, message), status_code=status)


# Chalice answers some requests itself (an unknown method, a body it cannot take); its
# error names map onto ours so clients see one shape.
CHALICE_ERROR_CODES = {
    "BadRequestError": "bad_request",
    "UnauthorizedError": "unauthorized",
    "ForbiddenError": "forbidden",
    "NotFoundError": "not_found",
    "MethodNotAllowedError": "method_not_allowed",
    "ConflictError": "conflict",
    "UnprocessableEntityError": "validation_error",
    "TooManyRequestsError": "too_many_requests",
    "UnsupportedMediaType": "unsupported_media_type",
    "InternalServerError": "internal_error",
}
