"""Attribute types of our own."""
import json
import zlib

from pynamodb.attributes import Attribute
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
