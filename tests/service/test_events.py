"""The events mechanism itself (chalicelib/db/events.py), against DynamoDB Local, with a kind
of event of the test's own: delivered until every subscriber has run, each once it has
succeeded, found by the job only when due."""
import uuid
from datetime import datetime, timedelta, timezone

from chalicelib.core.clock import FixedClock


def _kinds(calls, failures):
    """A kind whose second subscriber fails as long as `failures` holds something."""
    from chalicelib.db.events import Kind

    def first(subject, clock):
        calls.append(("first", subject["thing_id"]))

    def second(subject, clock):
        calls.append(("second", subject["thing_id"]))
        if failures:
            raise RuntimeError(failures.pop())

    return {"test_thing": Kind(lambda subject: (subject,), (("first", first),
                                                            ("second", second)))}


def _add(thing_id, now):
    from chalicelib.db import events
    from chalicelib.db.base import transaction

    with transaction() as writes:
        events.add_in(writes, "test_thing", now, thing_id=thing_id)


def test_an_event_is_delivered_until_every_subscriber_has_run_each_once(local_services):
    from chalicelib.db import events
    from chalicelib.db.outbox import Event

    thing_id = uuid.uuid4().hex
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    at = lambda minutes: FixedClock(now + timedelta(minutes=minutes))  # noqa: E731
    calls, failures = [], ["down", "down"]
    kinds = _kinds(calls, failures)
    _add(thing_id, now)
    key = events.event_key("test_thing", {"thing_id": thing_id})
    mine = lambda: [name for name, of in calls if of == thing_id]  # noqa: E731

    assert events.deliver_key(key, kinds, at(0)) is False  # the second subscriber failed
    assert events.pending("test_thing", thing_id=thing_id)
    retry = Event.get(key, consistent_read=True)
    assert (retry.attempts, retry.done) == (1, {"first"})
    assert retry.last_error == "second: RuntimeError: down"

    events.deliver_due(kinds, at(0.5))  # due a minute after the failure: not yet
    assert mine() == ["first", "second"]
    events.deliver_due(kinds, at(1))  # fails again: due 2 minutes later
    assert mine() == ["first", "second", "second"]
    events.deliver_due(kinds, at(2))
    assert len(mine()) == 3
    events.deliver_due(kinds, at(3))

    assert mine() == ["first", "second", "second", "second"]  # the first ran once
    assert not events.pending("test_thing", thing_id=thing_id)
    assert events.deliver_key(key, kinds, at(4)) is True
    assert len(mine()) == 4


def test_an_event_whose_change_did_not_happen_is_not_there(local_services):
    """The event is an item of the change's transaction: a change refused writes no event."""
    import pytest
    from pynamodb.exceptions import TransactWriteError

    from chalicelib.db import events
    from chalicelib.db.base import transaction
    from chalicelib.members.models import Member

    thing_id = uuid.uuid4().hex
    with pytest.raises(TransactWriteError):
        with transaction() as writes:
            writes.update(Member(f"m-{thing_id}"), actions=[Member.growth.set(1)],
                          condition=Member.member_id.exists(), name="member")  # no such member
            events.add_in(writes, "test_thing", datetime.now(timezone.utc), thing_id=thing_id)

    assert not events.pending("test_thing", thing_id=thing_id)
