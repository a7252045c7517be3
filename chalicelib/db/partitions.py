"""Write-sharded index keys. An index whose partition key every item of a moment shares (a
minute, a day: every order of the brand that minute) takes about 1,000 writes a second on
that key, so such keys are spread over SHARDS partitions by a hash of the item's id, and read
back by querying each (the key itself too: items written before it was spread carry it)."""
import zlib

SHARDS = 8  # ~8,000 writes a second on one minute or day


def spread(key, item_id, shards=SHARDS):
    """The item's partition of the key: "<key>#<shard>"."""
    return f"{key}#{zlib.crc32(item_id.encode()) % shards}"


def every(key, shards=SHARDS):
    """The key and each of its partitions, to query."""
    return [key, *(f"{key}#{shard}" for shard in range(shards))]
