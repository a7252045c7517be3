"""A group's life after its orders are placed: paid seats, completion when the last member
pays, and the expiry job for groups that did not fill in time.

Completion is one conditional update (OPEN → COMPLETED when every seat is paid), so however
many payments land at once it happens once; then each member's order becomes fulfillable
(a pickup code, or ready to ship) and each member is told. A group that expires unfilled
fails (or, if the campaign says so, completes with the members it has): its paid members are
refunded through WeChat and told, its unpaid orders closed. Every step can run again.
"""
from pynamodb.exceptions import UpdateError

from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.clock import utc_text
from chalicelib.db.base import Cancellation
from chalicelib.orders import fulfilment
from chalicelib.promotions.groups import campaigns
from chalicelib.promotions.groups.models import (COMPLETED, FAILED, HELD, LEFT, OPEN, PAID, Group,
                                               GroupSeat)


def _condition_failed(error):
    return error.cause_response_code == "ConditionalCheckFailedException"


def on_paid(order, clock=system_clock):
    """A group order was paid: its seat is paid (once), and a full group completes. A payment
    that lands on a failed group is refunded."""
    _move_seat(order, HELD, PAID, [Group.paid.add(1)])
    group = campaigns.get_group(order.group_id)
    if group.status == OPEN and group.paid >= group.size:
        complete(group, clock)
    elif group.status == FAILED:
        _refund(order, "the group did not fill")
    elif group.status == COMPLETED:
        _release(order)


def _end(group, status, now):
    """OPEN → COMPLETED or FAILED on one condition: whoever comes first ends the group, once;
    it leaves the open-group listings (and the expiry job's once its seats are seen to)."""
    try:
        group.update(actions=[Group.status.set(status), Group.ended_at.set(now),
                              Group.open_key.remove()],
                     condition=Group.status == OPEN)
        logs.info("group_ended", group_id=group.group_id, status=status, paid=group.paid)
    except UpdateError as error:
        if not _condition_failed(error):
            raise


def _release(order):
    """The order's group has completed: the order is fulfilled now, and the shopper told
    their pickup code."""
    if fulfilment.release_from_group(order):
        from chalicelib.notify import hooks

        hooks.pickup_code_given(order)


def complete(group, clock=system_clock):
    """OPEN → COMPLETED once; then every paid member's order is released for fulfilment."""
    _end(group, COMPLETED, clock.now())
    for seat in GroupSeat.query(group.group_id, consistent_read=True):
        if seat.status == PAID:
            _release(fulfilment.order_by_id(seat.order_id))
            _tell(seat.member_id, group, "拼团成功")


def _refund(order, reason):
    from chalicelib.orders import refunds

    if order.refund_count:  # refunded already (this runs again after a retry)
        return
    refunds.request(order.order_id, None, reason, "system")


def _tell(member_id, group, result):
    """A subscribe message about the group, queued once per member and group (the
    notifications job sends it if the member has a credit); never raised."""
    from chalicelib.notify import hooks

    try:
        name = campaigns.get(group.campaign_id).name
    except Exception as error:  # the group's outcome never waits on a message
        logs.warning("group_message_failed", group_id=group.group_id, error=str(error))
        return
    hooks.group_result(member_id, group, name, result)


def _each_seat(group, act):
    """act(seat, order) for each seat of the group, going on past a seat it fails for (WeChat
    did not answer, say), which is logged. True if it failed for none."""
    failed = 0
    for seat in GroupSeat.query(group.group_id, consistent_read=True):
        try:
            act(seat, fulfilment.order_by_id(seat.order_id))
        except Exception as error:  # the other seats still go on; this one next run
            failed += 1
            logs.warning("group_seat_failed", group_id=group.group_id, order_id=seat.order_id,
                         error=type(error).__name__)
    return not failed


def fail(group, clock=system_clock):
    """OPEN → FAILED once; paid members refunded and told, unpaid orders closed. True if
    every seat was seen to."""
    from chalicelib.orders import closing as lifecycle

    def see_to(seat, order):
        if seat.status == PAID:
            _refund(order, "the group did not fill")
            _tell(seat.member_id, group, "拼团失败")
        elif seat.status == HELD:
            lifecycle.close_unpaid(order, "group_failed", clock=clock)

    _end(group, FAILED, clock.now())
    return _each_seat(group, see_to)


def expire(group, clock=system_clock):
    """A group whose time ran out: completes with its paid members if the campaign fills
    groups automatically and someone paid, else fails. It stays due for the job (which calls
    this again) until every seat has been seen to."""
    from chalicelib.orders import closing as lifecycle

    def close_held(seat, order):
        if seat.status == HELD:
            lifecycle.close_unpaid(order, "group_completed", clock=clock)

    completing = group.status == COMPLETED or (
        group.status == OPEN and group.paid and campaigns.get(group.campaign_id).auto_complete)
    if completing:
        done = _each_seat(group, close_held)
        complete(campaigns.get_group(group.group_id), clock)
    else:
        done = fail(group, clock)
    if done:
        group.update(actions=[Group.expiry_day.remove()])
    return campaigns.get_group(group.group_id)


def run_job(clock=system_clock):
    """Every minute: the open groups whose time has run out (yesterday's and today's
    partitions of a sparse index: the groups it acts on, nothing else)."""
    from datetime import timedelta

    now = clock.now()
    ended = 0
    for day in (now - timedelta(days=1), now):
        for group in Group.by_expiry_day.query(day.strftime("%Y-%m-%d"),
                                               Group.expires_key <= f"{utc_text(now)}#~"):
            try:
                expire(campaigns.get_group(group.group_id), clock)
            except Exception as error:  # the other groups still end; this one next run
                logs.warning("group_expiry_failed", group_id=group.group_id,
                             error=type(error).__name__)
                continue
            ended += 1
    logs.info("job_done", job="groups-minute", groups=ended)
    return ended


def leave(order):
    """A paid member of a still-open group asks for their money back: the seat is freed with
    the group checked open, in one transaction. False if the group closed meanwhile (then it
    is a normal refund)."""
    return _move_seat(order, PAID, LEFT, [Group.seats_taken.add(-1), Group.paid.add(-1)],
                      Group.status == OPEN)


def _move_seat(order, from_status, to_status, group_actions, group_condition=None):
    """The member's seat from one status to another and the group's counts with it, once."""
    from pynamodb.exceptions import TransactWriteError

    from chalicelib.db.base import transaction

    try:
        with transaction() as writes:
            writes.update(GroupSeat(order.group_id, order.member_id),
                          actions=[GroupSeat.status.set(to_status)],
                          condition=GroupSeat.status == from_status, name="seat")
            writes.update(Group(order.group_id), actions=group_actions,
                          condition=group_condition, name="group")
        return True
    except TransactWriteError as error:
        if Cancellation.of(error).any_failed:
            return False
        raise
