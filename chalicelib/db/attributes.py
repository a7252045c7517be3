"""Attribute types of our own."""
import json
import zlib

from pynamodb.attributes import Attribute, NumberAttribute
from pynamodb.constants import BINARY, STRING


class CompactJSONAttribute(Attribute):
    """JSON kept zlib-compressed, as binary: an order's breakdown (its lines, names and
    prices) is half its size as text and a quarter compressed, and DynamoDB bills every write
    of an item by its size in whole KB. Reads the JSON text that JSONAttribute stored too."""

    attr_type = BINARY

    def serialize(self, value):
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return zlib.compress(text.encode(), 9)

    def deserialize(self, value):
        return json.loads(value if isinstance(value, str) else zlib.decompress(value))

    def get_value(self, value):
        return value[STRING] if STRING in value else value[BINARY]


class CountAttribute(NumberAttribute):
    """A count that starts at 0 and is stored only once it is not 0 (db.base.Model leaves it
    out of an item written): an item without it reads 0, and a new item does not pay for a
    row of zeros (DynamoDB bills writes by the item's size in whole KB). ADD and
    db.base.unchanged treat it as 0 when absent."""

    def __init__(self, **kwargs):
        super().__init__(default=0, **kwargs)
