"""Stock an order takes, outside any transaction: each unit counter (a store's stock of a SKU,
a promotion's shard) is taken by one conditional update of its own item, before the order is
written.

A transaction touching an item that another transaction is writing is cancelled, so a hot
item inside order transactions serialises at about one order per transaction's latency. A
lone conditional update is never cancelled by another: DynamoDB applies the writes of one
item one after the other, up to about 1,000 write units a second (README: ceilings), and
costs 1 write unit, not 2.

Every take also writes its tag on the item (`last_take`: "<order id>#<attempt>#<units>"), so
the stock table's stream shows each take and whom it was for. If the order is not written
after all, the placer gives the units back at once (`give_back`); if the placer died in
between (a crash, a timeout), nobody would: `check_takes`, the stock tables' stream
consumer, looks for the order of each take, and a take whose order is missing (or is another
attempt's) is kept as a suspect. A minute job (`run_job`) gives back the suspects still
unclaimed after GRACE, once: the placer's give-back and the job's are both conditioned on the
one StockTake item of the take, so a unit comes back at most once and only if no order holds
it. GRACE is longer than any request may run (the API function's timeout), so an order can
no longer be written when its take is given back.

The counters are the stock domains' (catalog's store stock, promotions' shards): a channel's
Take names its item's model and counter; for what the streams show, wiring.py names the
streamed tables' (`use_counters`), so the kernel knows no domain.
"""
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.core import logs
from chalicelib.core.clock import MINUTE
from chalicelib.core.clock import clock as system_clock

GRACE = timedelta(minutes=5)  # longer than any request runs (the API function's timeout)
KEEP = timedelta(days=7)
SUSPECT, GIVEN, CLAIMED = "suspect", "given", "claimed"
JOB = "stock-takes-minute"  # its cursor (db/cursors.py)
CATCH_UP = timedelta(hours=24)
_counters = []  # the one function that gives {table: (model, counter attribute name)}


def use_counters(provider):
    """Installs provider() → {table (Meta.table): (model, counter attribute name)}: the items
    orders take units from (chalicelib/wiring.py). Each model has a `last_take` attribute."""
    _counters[:] = [provider]


def _counter_of(table):
    if not _counters:
        raise LookupError("no stock counters are installed (chalicelib/wiring.py install())")
    return _counters[0]()[table]


@dataclass(frozen=True)
class Take:
    """Units to take from one counter item: its model, its key values (hash, then range),
    the counter's attribute name, how many; `refusal` is the shopper's answer when the item
    has too few (None: the channel plans its takes again)."""

    model: type
    key: tuple
    counter: str
    units: int
    refusal: object = None

    @property
    def table(self):
        return self.model.Meta.table


def new_attempt():
    """A short random name for one attempt at placing an order (its takes' tags say it)."""
    return secrets.token_hex(4)


def tag(order_id, attempt, units):
    return f"{order_id}#{attempt}#{units}"


def _parse(tag_text):
    order_id, attempt, units = tag_text.rsplit("#", 2)
    return order_id, attempt, int(units)


def take(item, order_id, attempt):
    """Takes the units on condition the item has them. False if it has too few; any other
    failure raises (and what it took, if anything, is the job's to give back)."""
    from pynamodb.exceptions import UpdateError

    counter = getattr(item.model, item.counter)
    try:
        item.model(*item.key).update(
            actions=[counter.add(-item.units),
                     item.model.last_take.set(tag(order_id, attempt, item.units))],
            condition=counter >= item.units)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _take_id(table, key, tag_text):
    return f"{tag_text}@{table}/{json.dumps(list(key), separators=(',', ':'))}"


def give_back(item, order_id, attempt, now):
    """The units of a take whose order was not written, back on the item, once (the job
    gives back only what no one has)."""
    from chalicelib.orders.models import StockTake

    tag_text = tag(order_id, attempt, item.units)
    _give_back_once(item.model, item.key, item.counter, item.units,
                    _take_id(item.table, item.key, tag_text), now,
                    StockTake.take_id.does_not_exist() | (StockTake.state == SUSPECT))


def _give_back_once(model, key, counter, units, take_id, now, condition):
    from chalicelib.db.base import transaction
    from chalicelib.orders.models import StockTake

    with transaction() as writes:
        writes.update(model(*key), actions=[getattr(model, counter).add(units)],
                      name="counter")
        writes.update(StockTake(take_id), actions=[
            StockTake.state.set(GIVEN), StockTake.suspect_minute.remove(),
            StockTake.table.set(model.Meta.table), StockTake.key.set(json.dumps(list(key))),
            StockTake.units.set(units), StockTake.expires_at.set(now + KEEP)],
            condition=condition, name="take")


def _key_of(model, keys):
    hash_name = model._hash_key_attribute().attr_name
    range_attribute = model._range_key_attribute()
    values = [keys[hash_name]]
    if range_attribute is not None:
        values.append(keys[range_attribute.attr_name])
    return tuple(values)


def _takes_in(changes):
    """(change, tag) of each write in the batch that was a take."""
    for change in changes:
        new_tag = (change.new or {}).get("last_take")
        if new_tag and new_tag != (change.old or {}).get("last_take"):
            yield change, new_tag


def check_takes(changes, clock=system_clock):
    """The stock tables' stream consumer: each take whose order is not there (or is another
    attempt's) becomes a suspect, for the job to give back if it stays unclaimed."""
    from pynamodb.exceptions import PutError

    from chalicelib.orders.models import StockTake, orders_by_id

    found = list(_takes_in(changes))
    if not found:
        return
    orders = orders_by_id({_parse(tag_text)[0] for _, tag_text in found})
    now = clock.now()
    for change, tag_text in found:
        order_id, attempt, units = _parse(tag_text)
        order = orders.get(order_id)
        if order is not None and order.take_attempt == attempt:
            continue
        model, _ = _counter_of(change.table)
        key = _key_of(model, change.keys)
        suspect = StockTake(_take_id(change.table, key, tag_text), state=SUSPECT,
                            table=change.table, key=json.dumps(list(key)), units=units,
                            found_at=now.isoformat(), suspect_minute=now.strftime(MINUTE),
                            expires_at=now + KEEP)
        try:
            suspect.save(condition=StockTake.take_id.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise  # else: given back already, or found before


def _resolve(suspect, now):
    """Gives a suspect's units back unless an order holds them now (then it is claimed)."""
    from pynamodb.exceptions import DoesNotExist, TransactWriteError

    from chalicelib.orders.models import Order, StockTake

    tag_text = suspect.take_id.rsplit("@", 1)[0]
    order_id, attempt, _ = _parse(tag_text)
    try:
        order = Order.get(order_id, consistent_read=True)
    except DoesNotExist:
        order = None
    if order is not None and order.take_attempt == attempt:
        suspect.update(actions=[StockTake.state.set(CLAIMED),
                                StockTake.suspect_minute.remove()])
        return False
    model, counter = _counter_of(suspect.table)
    try:
        _give_back_once(model, tuple(json.loads(suspect.key)), counter, suspect.units,
                        suspect.take_id, now, StockTake.state == SUSPECT)
    except TransactWriteError:
        return False  # given back meanwhile
    logs.warning("unclaimed_take_given_back", table=suspect.table, order_id=order_id,
                 units=suspect.units)
    return True


def run_job(clock=system_clock):
    """Every minute: the suspects found at least GRACE ago, each given back unless its order
    holds it. Reads only the suspects (none, while nothing crashes). Returns units given."""
    from chalicelib.db import cursors as minutes
    from chalicelib.orders.models import StockTake

    now = clock.now()
    done = (now - GRACE).replace(second=0, microsecond=0)
    first = max(minutes.last_minute_covered(JOB, now - GRACE) + timedelta(minutes=1),
                done - CATCH_UP)
    given = 0
    for minute in minutes.minutes(first, done):
        for suspect in StockTake.by_suspect_minute.query(minute):
            if _resolve(suspect, now):
                given += suspect.units
    minutes.cover(JOB, done, now)
    logs.info("job_done", job=JOB, units_given_back=given)
    return given
