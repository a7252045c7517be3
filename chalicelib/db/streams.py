"""Streams: a table's own changes, handed to its consumers as DynamoDB Streams hands them.

A streamed model says so in its Meta (`stream_view_type = NEW_AND_OLD_IMAGES`): every write
to its table leaves a record with the item before and after, kept 24 hours, at no write cost
(an outbox item costs a put and a delete, each doubled in a transaction). On AWS a Lambda
function per streamed table (chalicelib/jobs/streams.py) gets the records in batches, in the
order of the writes of each item; locally devtools/streams.py reads DynamoDB Local's stream
and invokes the same function.

`handle(table, lambda_event, clock)` decodes the batch into `Change`s and runs each consumer
of the table with the whole list, in order. A consumer that raises does not stop the others;
each failure is logged, and then the batch fails so that Lambda delivers it again (the
consumers are idempotent: a redelivery changes nothing they have done). Lambda retries a
failed batch a bounded number of times, halving it to find the record at fault, and then
moves past it, to the on-failure queue and its alarm (infra/yutang_infra).

This module knows no domain: the consumers come from a provider that chalicelib/wiring.py
installs (`use`), called on the first batch."""
import base64
from dataclasses import dataclass
from decimal import Decimal

from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock

INSERT, MODIFY, REMOVE = "INSERT", "MODIFY", "REMOVE"
# The ARN a stream function is declared with (Chalice wants one when the app is imported):
# it names the logical table, and infra/ puts the table's real stream ARN in its place.
_DECLARED_ARN = "arn:aws:dynamodb:{region}:000000000000:table/{table}/stream/declared"
_provider = []  # the one function that gives {table: ((name, consumer), ...)} (set by `use`)


@dataclass(frozen=True)
class Change:
    """One write to a streamed table: its logical name (Meta.table, "orders"), the event
    (INSERT, MODIFY or REMOVE), the item's key, the item before and after (plain values:
    numbers as int when whole, Decimal otherwise; None when there was no item) and the
    record's sequence number in its shard."""

    table: str
    event: str
    keys: dict
    old: object
    new: object
    sequence: str


class BatchFailed(Exception):
    """Some consumer of the batch failed: Lambda delivers the batch again."""


def use(provider):
    """Installs provider() → {table: ((name, consumer(changes, clock)), ...)}, the consumers
    of each streamed table (chalicelib/wiring.py)."""
    _provider[:] = [provider]


def installed_consumers():
    if not _provider:
        raise LookupError("no stream consumers are installed (chalicelib/wiring.py install())")
    return _provider[0]()


def declared_arn(table, region="local"):
    """The stream ARN a function of the table's stream is declared with."""
    return _DECLARED_ARN.format(region=region, table=table)


def table_of(stream_arn):
    """The table a stream ARN names (…:table/<name>/stream/<label>)."""
    return stream_arn.split(":table/", 1)[1].split("/stream/", 1)[0]


def _number(text):
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else number


def value(typed):
    """A plain Python value of an attribute as a stream record types it ({"N": "12"} → 12)."""
    (kind, raw), = typed.items()
    if kind == "S":
        return raw
    if kind == "N":
        return _number(raw)
    if kind == "B":
        return base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return image(raw)
    if kind == "L":
        return [value(item) for item in raw]
    if kind == "SS":
        return set(raw)
    if kind == "NS":
        return {_number(item) for item in raw}
    if kind == "BS":
        return {base64.b64decode(item) if isinstance(item, str) else bytes(item)
                for item in raw}
    raise ValueError(f"a stream record's attribute of unknown type {kind}")


def image(typed_item):
    """A plain dict of an item as a stream record types it; None for no item."""
    if typed_item is None:
        return None
    return {name: value(typed) for name, typed in typed_item.items()}


def change_of(table, record):
    """The Change a Lambda DynamoDB-stream record describes."""
    stream = record["dynamodb"]
    return Change(table=table, event=record["eventName"], keys=image(stream.get("Keys")) or {},
                  old=image(stream.get("OldImage")), new=image(stream.get("NewImage")),
                  sequence=stream.get("SequenceNumber", ""))


def _brief(error):
    return f"{type(error).__name__}: {error}"[:300]


def handle(table, lambda_event, clock=system_clock, feed=None):
    """Runs every consumer of the table (or of the table's `feed`: a function of its own on
    the same stream) with the batch's changes, in order; raises BatchFailed, after all have
    run, if any of them raised. Returns how many changes."""
    consumers = installed_consumers().get(feed or table)
    if consumers is None:
        raise LookupError(f"no consumers of the {feed or table} stream are installed")
    changes = [change_of(table, record) for record in lambda_event.get("Records") or ()]
    failed = []
    for name, consumer in consumers:
        try:
            consumer(changes, clock)
        except Exception as error:  # the others still run; the batch comes again
            failed.append(name)
            logs.warning("stream_consumer_failed", table=table, consumer=name,
                         records=len(changes),
                         sequences=[changes[0].sequence, changes[-1].sequence] if changes
                         else [], error=_brief(error))
    if failed:
        raise BatchFailed(f"{table} stream: {', '.join(failed)} failed on a batch of "
                          f"{len(changes)}; it is delivered again")
    return len(changes)
