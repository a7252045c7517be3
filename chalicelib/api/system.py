from chalice import Blueprint

from chalicelib.api.routing import PUBLIC, ROUTES, route
from chalicelib.errors import DomainError

bp = Blueprint(__name__)

HEALTH = {
    "type": "object",
    "properties": {"status": {"type": "string"}, "dynamodb": {"type": "string"}},
    "required": ["status", "dynamodb"],
}


@route(bp, "/health", auth=PUBLIC, response=HEALTH, summary="Is the stack able to serve?",
       error_codes=["service_unavailable"])
def health(call):
    from chalicelib import tables

    try:
        ready = tables.ping()
    except Exception as exc:
        raise DomainError("service_unavailable",
                          f"DynamoDB is not reachable ({type(exc).__name__}).") from None
    if not ready:
        raise DomainError("service_unavailable", "DynamoDB answers but the tables are missing.")
    return {"status": "ok", "dynamodb": "reachable"}


@route(bp, "/openapi.json", auth=PUBLIC, summary="This API's OpenAPI 3 document")
def openapi(call):
    from chalicelib.api.openapi import document

    return document(ROUTES)
