"""Paginated lists: one page of a Query, and an opaque cursor for the next.

A cursor is `<key>.<signature>`, both base64url: DynamoDB's last evaluated key as JSON, and an
HMAC-SHA256 of it together with the list it belongs to (what is queried, the partition, the
conditions and order). Anything else (edited, made up, or from another list, another member's
included) is a validation error before DynamoDB sees it. The HMAC key is derived from
TOKEN_SECRET for cursors alone, so no token is ever a valid cursor, nor a cursor a token.
"""
import base64
import hashlib
import hmac
import json

from chalicelib.config import settings
from chalicelib.errors import DomainError

PAGE_QUERY = {
    "type": "object",
    "properties": {"limit": {"type": "string", "pattern": "^([1-9]|[1-9][0-9]|100)$"},
                   "cursor": {"type": "string", "maxLength": 2048}},
}

# Not base64url, so never the payload of a session token (which signs its payload with
# TOKEN_SECRET itself): the derived key cannot be had by asking for a token.
_KEY_LABEL = b"yutang pagination cursor key"


def _b64encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(list_id, key_text):
    key = hmac.new(settings.token_secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
    message = f"{list_id}\n{key_text}".encode()  # list_id is JSON: it holds no raw newline
    return _b64encode(hmac.new(key, message, hashlib.sha256).digest())


def _list_id(source, hash_key, query_args):
    name = getattr(source, "__name__", type(source).__name__)  # a model, or an index of one
    return json.dumps([name, str(hash_key), sorted((arg, str(value))
                                                   for arg, value in query_args.items())])


def _encode(list_id, last_evaluated_key):
    if not last_evaluated_key:
        return None
    key_text = _b64encode(json.dumps(last_evaluated_key, separators=(",", ":")).encode())
    return f"{key_text}.{_signature(list_id, key_text)}"


def _decode(list_id, cursor):
    if not cursor:
        return None
    key_text, _, signature = cursor.partition(".")
    if not (cursor.isascii() and signature
            and hmac.compare_digest(signature, _signature(list_id, key_text))):
        raise DomainError("validation_error", "The cursor is not one this API gave out for "
                                              "this list.")
    return json.loads(_b64decode(key_text))


def whole_items(model, keys, key_of):
    """The items of a keys-only index's page (keys), read whole in one BatchGet, in the page's
    order; one gone meanwhile is left out. key_of(item): its table key (a hash key alone)."""
    found = {key_of(item): item for item in model.batch_get([key_of(key) for key in keys])} \
        if keys else {}
    return [found[key_of(key)] for key in keys if key_of(key) in found]


def query_page(source, hash_key, view, name, *, limit, cursor, load=None, **query_args):
    """One page of `source.query(hash_key, **query_args)` (a model or one of its indexes), in
    views under `name`, and the cursor of the next page (None on the last). load(items) gives
    the whole items of a keys-only index's page, in its order."""
    list_id = _list_id(source, hash_key, query_args)
    results = source.query(hash_key, limit=limit, last_evaluated_key=_decode(list_id, cursor),
                           **query_args)
    items = list(results)
    return {name: [view(item) for item in (load(items) if load else items)],
            "next_cursor": _encode(list_id, results.last_evaluated_key)}


def _start_key(index, item):
    """The ExclusiveStartKey that reads a partition of a keys-only index on after `item`."""
    serialized = item.serialize(null_check=False)
    names = {item._hash_keyname, item._range_keyname, *index.Meta.attributes}
    return {name: serialized[name] for name in names if name}


def merged_query_page(index, hash_keys, sort_key, view, name, *, limit, cursor, load):
    """One page, newest first, of several partitions of a keys-only index read as one list
    (a partition written in shards): each partition read on from where the cursor left it,
    the items merged by the index's range key (sort_key), and the cursor keeping each
    partition's place. load(items) gives the whole items. One Query a partition a page."""
    list_id = _list_id(index, "|".join(hash_keys), {"merged": sort_key})
    places = _decode(list_id, cursor) or {key: None for key in hash_keys}
    read = {}  # partition → (its items read, whether it has more)
    for hash_key, place in places.items():
        if place != "end":
            results = index.query(hash_key, limit=limit, last_evaluated_key=place,
                                  scan_index_forward=False)
            read[hash_key] = (list(results), bool(results.last_evaluated_key))
    merged = sorted(((getattr(item, sort_key), hash_key, item)
                     for hash_key, (items, _) in read.items() for item in items),
                    key=lambda entry: entry[0], reverse=True)[:limit]
    for hash_key, (items, more) in read.items():
        mine = [item for _, partition, item in merged if partition == hash_key]
        if len(mine) == len(items) and not more:
            places[hash_key] = "end"
        elif mine:
            places[hash_key] = _start_key(index, mine[-1])
    done = all(place == "end" for place in places.values())
    return {name: [view(item) for item in load([item for _, _, item in merged])],
            "next_cursor": None if done else _encode(list_id, places)}
