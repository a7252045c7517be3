"""Events: what a state change leaves for its subscribers, written in the state change's own
transaction, and delivered until every subscriber has run. A failure between the change and
its effects (DynamoDB, WeChat, a Lambda that times out) then loses nothing.

Two of the kernel's kinds travel this way: order_refunded (and refund_settled, its former
name) and members_merged. order_paid does not: the order's own change (PENDING_PAYMENT →
PAID) reaches its subscribers through the orders table's DynamoDB Stream (db/streams.py,
orders/events.py), which costs no write; an order_paid event written before that move is
still delivered by the events job.

`add_in(writes, kind, now, **subject)` adds the event to the transaction that makes the change
(a refund settled, two members merged). Right after it, the caller delivers the event
(`deliver(kind, clock, **subject)`): each subscriber of its kind runs, in order, and the event
is deleted once all have run. A subscriber that fails leaves the event due again after a
backoff (1, 2, 4 … minutes, at most an hour, for as long as it takes), remembering which
subscribers have run. The events job delivers what is due, and so does the next attempt of
the change itself (a repeated notify, the refunds job). Subscribers are idempotent (a marker
per source, a conditional write), so one that runs twice after a crash changes nothing more.

The job reads an index of events by due minute, in SHARDS partitions (by a hash of the
event's key) sorted by `<due minute>#<key>`: each run asks each partition for what is due up
to this minute. Cost: SHARDS queries a minute and a read per due event; nothing is skipped
however long the job was stopped (there is no cursor over minutes to fall behind). An event
is two index writes (added, deleted); four partitions take about 2,000 events a second before
DynamoDB's 1,000 writes a second per partition, far above a brand's payments.

This module knows no domain: the kinds and their subscribers come from a provider that
chalicelib/wiring.py installs (`use`), called on the first delivery. The table itself is in
db/outbox.py, imported by the functions here, so installing the provider loads nothing."""
import zlib
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.core import logs
from chalicelib.core.clock import MINUTE
from chalicelib.core.clock import clock as system_clock

SHARDS = 4
FIRST_DUE = timedelta(minutes=2)  # the delivery right after the change has this long alone
BACKOFF, MAX_BACKOFF = timedelta(minutes=1), timedelta(hours=1)
_provider = []  # the one function that gives {kind: Kind} (set by `use`)


@dataclass(frozen=True)
class Kind:
    """What an event of one kind sets off: load(subject) gives the arguments every subscriber
    takes (read once per delivery); subscribers are (name, function(*arguments, clock)), run
    in order. A name is what an event remembers as done: it never changes."""

    load: object
    subscribers: tuple


def use(kinds):
    """Installs kinds() → {kind: Kind}, the subscribers of every kind (chalicelib/wiring.py)."""
    _provider[:] = [kinds]


def installed_kinds():
    if not _provider:
        raise LookupError("no subscribers are installed (chalicelib/wiring.py install())")
    return _provider[0]()


def event_key(kind, subject):
    return "#".join([kind, *(str(subject[name]) for name in sorted(subject))])


def _due(key, moment):
    shard = str(zlib.crc32(key.encode()) % SHARDS)
    return shard, f"{moment.strftime(MINUTE)}#{key}"


def add_in(writes, kind, now, **subject):
    """Adds the event to the transaction of the change that sets it off."""
    from chalicelib.db.outbox import Event

    key = event_key(kind, subject)
    shard, due_key = _due(key, now + FIRST_DUE)
    writes.save(Event(key, kind=kind, subject=subject, created_at=now, due_shard=shard,
                      due_key=due_key), name="event")


def pending(kind, **subject):
    """Whether an event of this kind and subject still has subscribers to run."""
    from chalicelib.db.outbox import Event

    return Event.count(event_key(kind, subject), consistent_read=True) > 0


def _brief(error):
    return f"{type(error).__name__}: {error}"[:300]


def run_subscribers(kind, subject, clock, done=()):
    """Runs the kind's subscribers not in `done`, in order, with what its loader gives for
    the subject; one that raises does not stop the others. Returns (the names done, [(name,
    error)] of those that failed)."""
    done, failures = set(done), []
    try:
        arguments = kind.load(subject)
    except Exception as error:
        return done, [("-", _brief(error))]
    for name, subscriber in kind.subscribers:
        if name in done:
            continue
        try:
            subscriber(*arguments, clock=clock)
            done.add(name)
        except Exception as error:  # the others still run; this one is tried again later
            failures.append((name, _brief(error)))
    return done, failures


def _run(event, kinds, clock):
    """Runs the subscribers of the event not yet done; returns (done, failures)."""
    kind = kinds.get(event.kind)
    if kind is None:
        return set(event.done or ()), [("-", f"no subscribers for events of kind {event.kind}")]
    return run_subscribers(kind, event.subject, clock, event.done or ())


def deliver(kind, clock=system_clock, **subject):
    """Runs what the event of this kind and subject still has to run (nothing if it is done),
    with the installed subscribers. Never raises; True when nothing is left."""
    return deliver_key(event_key(kind, subject), installed_kinds(), clock)


def deliver_key(key, kinds, clock):
    """Runs what the event still has to run, then deletes it, or makes it due again later if a
    subscriber failed. Never raises (the change it follows has happened; what failed is
    retried). True when nothing is left to run."""
    from pynamodb.exceptions import DoesNotExist

    from chalicelib.db.outbox import Event

    try:
        event = Event.get(key, consistent_read=True)
    except DoesNotExist:
        return True  # delivered already
    except Exception as error:
        logs.warning("event_not_delivered", event_key=key, error=_brief(error))
        return False
    done, failures = _run(event, kinds, clock)
    try:
        if not failures:
            event.delete()
            return True
        attempts = event.attempts + 1
        shard, due_key = _due(key, clock.now() + min(BACKOFF * 2 ** (attempts - 1),
                                                     MAX_BACKOFF))
        actions = [Event.attempts.set(attempts), Event.due_shard.set(shard),
                   Event.due_key.set(due_key),
                   Event.last_error.set(f"{failures[0][0]}: {failures[0][1]}")]
        if done:
            actions.append(Event.done.set(done))
        event.update(actions=actions, condition=Event.key.exists())
        for name, error in failures:
            logs.warning("event_retry", event_key=key, kind=event.kind, subscriber=name,
                         attempts=attempts, error=error)
    except Exception as error:  # it stays due as it was: the job tries again
        logs.warning("event_not_delivered", event_key=key, error=_brief(error))
    return False


def deliver_due(kinds, clock):
    """Delivers every event due up to this minute. Returns (delivered, left for later)."""
    from chalicelib.db.outbox import Event

    upto = (clock.now().replace(second=0, microsecond=0) + timedelta(minutes=1)).strftime(MINUTE)
    delivered = left = 0
    for shard in range(SHARDS):
        for event in Event.due.query(str(shard), Event.due_key < upto):
            if deliver_key(event.key, kinds, clock):
                delivered += 1
            else:
                left += 1
    return delivered, left
