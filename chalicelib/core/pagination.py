"""Opaque cursors for paginated lists: DynamoDB's last evaluated key, base64url JSON."""
import base64
import json

from chalicelib.errors import DomainError

PAGE_QUERY = {
    "type": "object",
    "properties": {"limit": {"type": "string", "pattern": "^([1-9]|[1-9][0-9]|100)$"},
                   "cursor": {"type": "string", "maxLength": 2048}},
}


def encode_cursor(last_evaluated_key):
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor):
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise DomainError("validation_error", "The cursor is not one this API gave out.") from None
    if not isinstance(key, dict):
        raise DomainError("validation_error", "The cursor is not one this API gave out.")
    return key


def page(results, view, name):
    """One page of a PynamoDB query (run with a limit), in views, and the next page's cursor."""
    from pynamodb.exceptions import QueryError

    try:
        items = [view(item) for item in results]
    except QueryError:
        # A cursor that decodes but names no key of this list.
        raise DomainError("validation_error", "The cursor is not one this API gave out.") from None
    return {name: items, "next_cursor": encode_cursor(results.last_evaluated_key)}
