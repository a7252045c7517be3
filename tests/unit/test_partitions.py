"""Write-sharded index keys (db/partitions.py): an item's key is one of the partitions its
reader queries, and items of one moment spread over all of them."""
from chalicelib.db import partitions


def test_an_items_partition_is_among_those_read_and_is_always_the_same():
    key = partitions.spread("2026-12-01T08:00", "o_abc")
    assert key in partitions.every("2026-12-01T08:00")
    assert key == partitions.spread("2026-12-01T08:00", "o_abc")


def test_items_of_one_minute_spread_over_every_partition_evenly():
    counts = {}
    for n in range(8_000):
        key = partitions.spread("2026-12-01T08:00", f"o_{n:06d}")
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == partitions.SHARDS
    assert max(counts.values()) < 1.15 * 8_000 / partitions.SHARDS


def test_the_key_as_written_before_it_was_spread_is_read_too():
    assert partitions.every("2026-12-01", shards=2) == ["2026-12-01", "2026-12-01#0",
                                                       "2026-12-01#1"]
