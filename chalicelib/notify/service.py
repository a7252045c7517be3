"""One notification service for every event. `notify` queues a message (one PutItem, never
WeChat inline, never an exception into the caller's flow); the `notifications` minute job
sends what is due, through a sparse index of queued notifications by minute, so it reads only
what it sends.

Sending one: claim it (queued → sending, a conditional update, so it goes at most once),
spend a credit (a conditional decrement; none → "no_credit", nothing sent), send. WeChat's
answer: 0 → "sent"; 43101 → "refused" (the member has no quota: the credit is gone); 41030
(the released mini-program lacks the page) → sent again without the page, which opens the
mini-program's home; another errcode (47003: a value WeChat's rules refuse) → "failed" and
the credit given back, since WeChat spends a subscription only on a message it takes; WeChat
not taking it (unreachable, busy: -1, an HTTP error) or not answering in time → the credit
given back and the message queued again with backoff, until it has been tried
NOTIFY_MAX_ATTEMPTS times ("failed"). A 43101 after a try WeChat never answered means that try
went (it spent the member's subscription): "sent".
"""
import heapq
from datetime import timedelta

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.clock import utc_text
from chalicelib.core.ids import new_id
from chalicelib.db import cursors as minutes
from chalicelib.db import partitions
from chalicelib.db.cursors import MINUTE
from chalicelib.notify import credits
from chalicelib.notify.events import EVENTS
from chalicelib.notify.models import Notification

QUEUED, SENDING, SENT = "queued", "sending", "sent"
NO_CREDIT, REFUSED, FAILED, UNREACHABLE = "no_credit", "refused", "failed", "unreachable"
NO_QUOTA, PAGE_NOT_RELEASED = 43101, 41030
CATCH_UP = timedelta(hours=24)
BACKOFF = timedelta(minutes=1)  # then 2, 4, 8 … minutes
JOB = "notifications"  # its cursor (db/cursors.py)


def notification_id(member_id, event, once_key):
    """The id of the one notification of an event from one source for one member."""
    return f"{event}#{member_id}#{once_key}"


def _due_actions(due, nid):
    return [Notification.due_at.set(due),
            Notification.due_minute.set(partitions.spread(due.strftime(MINUTE), nid)),
            Notification.due_key.set(f"{utc_text(due)}#{nid}")]


def notify(member_id, event, fields, page=None, reason="", clock=system_clock,
           once_key=None):
    """Queues the event's message to the member, due now; returns the notification's id
    (None if it could not be queued: logged, never raised).

    fields: the event's fields (see events.EVENTS); page: the page to open (default: the
    event's, from the fields); reason: why, for staff ("order o_… paid"). With once_key (the
    source: an order id, a refund id …) the event is queued once per member and key however
    often this is called, and the same id is returned."""
    try:
        spec = EVENTS[event]
        now = clock.now()
        nid = notification_id(member_id, event, once_key) if once_key else new_id("n")
        notification = Notification(
            nid, member_id=member_id, event=event, template_id=spec.template_id,
            page=page or spec.page_for(fields), data=spec.data(fields), reason=reason or event,
            status=QUEUED, attempts=0, created_at=now, created_key=f"{utc_text(now)}#{nid}",
            due_at=now, due_minute=partitions.spread(now.strftime(MINUTE), nid),
            due_key=f"{utc_text(now)}#{nid}")
        try:
            notification.save(condition=Notification.notification_id.does_not_exist())
            logs.info("notification_queued", notification_id=nid, kind=event,
                      member_id=member_id)
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
        return nid
    except Exception as error:  # the caller's flow never fails on a message
        logs.warning("notification_not_queued", kind=event, member_id=member_id,
                     error=f"{type(error).__name__}: {error}")
        return None


def _claim(notification):
    """queued → sending, once: False if another run (or a retry's due time) got it."""
    try:
        notification.update(
            actions=[Notification.status.set(SENDING), Notification.attempts.add(1),
                     Notification.due_minute.remove(), Notification.due_key.remove()],
            condition=(Notification.status == QUEUED)
            & (Notification.due_key == notification.due_key))
        return True
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise


def _finish(notification, status, now, errcode=None, error=None):
    actions = [Notification.status.set(status)]
    if errcode is not None:
        actions.append(Notification.errcode.set(errcode))
    if error is not None:
        actions.append(Notification.error.set(error[:300]))
    if status == SENT:
        actions.append(Notification.sent_at.set(now))
    notification.update(actions=actions)
    logs.info("notification_done", notification_id=notification.notification_id,
              kind=notification.event, status=status, errcode=errcode)


def _retry_later(notification, now, error):
    from chalicelib.config import settings

    if notification.attempts >= settings.notify_max_attempts:
        _finish(notification, FAILED, now, error=error)
        return
    due = now + BACKOFF * 2 ** (notification.attempts - 1)
    notification.update(actions=[Notification.status.set(QUEUED),
                                 Notification.error.set(error[:300]),
                                 *_due_actions(due, notification.notification_id)])
    logs.warning("notification_retry", notification_id=notification.notification_id,
                 attempts=notification.attempts, due_at=utc_text(due), error=error)


def _send(notification, now, mini_program=None):
    """Sends one queued notification, at most once. Returns its status after."""
    from chalicelib.errors import DomainError
    from chalicelib.members.reading import get_member
    from chalicelib.wechat.port import SendUnanswered

    if notification.status != QUEUED or not _claim(notification):
        return None
    try:
        openid = get_member(notification.member_id).openid
    except DomainError:
        openid = None
    if not openid:  # an imported member who never opened the mini-program
        _finish(notification, UNREACHABLE, now)
        return UNREACHABLE
    member_id, template_id = notification.member_id, notification.template_id
    if not credits.spend(member_id, template_id):
        _finish(notification, NO_CREDIT, now)
        return NO_CREDIT
    try:
        if mini_program is None:
            from chalicelib import wechat

            mini_program = wechat.mini_program()
        errcode = mini_program.send_subscribe_message(openid, template_id, notification.page,
                                                      notification.data)
        if errcode == PAGE_NOT_RELEASED and notification.page:
            logs.warning("notification_page_not_released",
                         notification_id=notification.notification_id,
                         page=notification.page.split("?")[0])
            errcode = mini_program.send_subscribe_message(openid, template_id, None,
                                                          notification.data)
    except Exception as error:  # DomainError("wechat_unavailable"), SendUnanswered …
        credits.give_back(member_id, template_id)
        if isinstance(error, SendUnanswered):
            notification.update(actions=[Notification.unanswered_at.set(now)])
        message = error.message if isinstance(error, DomainError) else str(error)
        _retry_later(notification, now, f"{type(error).__name__}: {message}")
        return notification.status
    if errcode == 0:
        _finish(notification, SENT, now, errcode=0)
    elif errcode == NO_QUOTA and notification.unanswered_at:
        logs.warning("notification_sent_unanswered",
                     notification_id=notification.notification_id)
        _finish(notification, SENT, notification.unanswered_at, errcode=errcode)
    elif errcode == NO_QUOTA:
        credits.forget(member_id, template_id)
        _finish(notification, REFUSED, now, errcode=errcode)
    else:
        credits.give_back(member_id, template_id)
        _finish(notification, FAILED, now, errcode=errcode)
    return notification.status


def get(nid):
    return Notification.get(nid, consistent_read=True)


def send_now(nid, clock=system_clock, mini_program=None):
    """Sends one queued notification now (the job does this for every due one)."""
    return _send(get(nid), clock.now(), mini_program)


def run_job(clock=system_clock, mini_program=None):
    """Every minute: the notifications due since the last run (catching up missed minutes,
    at most CATCH_UP back) and those due so far this minute. Returns how many it handled."""
    now = clock.now()
    current = now.replace(second=0, microsecond=0)
    first = max(min(minutes.last_minute_covered(JOB, now) + timedelta(minutes=1),
                    current - timedelta(minutes=1)), current - CATCH_UP)
    handled = {}
    upto = f"{utc_text(now)}#~"
    for minute in minutes.minutes(first, current):
        # The minute's partitions merged in due order: an older message goes first.
        for notification in heapq.merge(
                *(Notification.by_due_minute.query(key, Notification.due_key <= upto)
                  for key in partitions.every(minute)), key=lambda due: due.due_key):
            status = _send(notification, now, mini_program)
            if status:
                handled[status] = handled.get(status, 0) + 1
    done = current - timedelta(minutes=1)
    minutes.cover(JOB, done, now)
    logs.info("job_done", job="notifications", **handled)
    return sum(handled.values())


def notification_view(notification):
    return {"notification_id": notification.notification_id, "event": notification.event,
            "template_id": notification.template_id, "page": notification.page,
            "data": notification.data, "status": notification.status,
            "errcode": notification.errcode, "reason": notification.reason,
            "attempts": notification.attempts or 0,
            "created_at": utc_text(notification.created_at),
            "sent_at": utc_text(notification.sent_at) if notification.sent_at else None}


def of_member(member_id, limit=20, cursor=None):
    """What was sent to a member and why, newest first, a page at a time."""
    from chalicelib.core.pagination import query_page

    return query_page(Notification.by_member, member_id, notification_view, "notifications",
                      limit=limit, cursor=cursor, scan_index_forward=False)
