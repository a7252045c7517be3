"""Live sessions (直播场次): creating, approving, going live, ending, pinning, showing them,
the live token a viewer gets on entering, and the `live-sessions-minute` job.

A guide's session waits for approval: the manager of its store (or an admin) approves or
rejects it, once, with the approver's pricing rights. Until approved it is not shown to
shoppers and does not go live; one never approved just ends at its scheduled end, having
moved nothing. An admin's session is approved when made.

A session's lineup has live prices and live-only quantities. When it goes LIVE (the host
starts it, or the job at the scheduled start) each quantity leaves regular stock of the
session's stock source and is split over hot-stock shards (hotstock.py) in one transaction;
when it ENDS (the host, or the job at the scheduled end) every unsold unit goes back,
exactly, in one transaction that drains the shards on condition they still hold what was
read. The job reads, through a sparse index, only the sessions with a step due.
"""
import base64
import functools
import hashlib
import hmac
import json
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from chalicelib.promotions import hotstock, listings as promotions
from chalicelib.core import logs, retry
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.clock import utc_text
from chalicelib.core.ids import new_id
from chalicelib.db.base import transaction
from chalicelib.errors import DomainError
from chalicelib.promotions.live.models import (APPROVED, ENDED, LIVE, PENDING, REJECTED,
                                               SCHEDULED, LiveFigures, LiveSession)

KIND = "live_session"
ATTEMPTS = 20
TOKEN_TTL_S = 2 * 3600


def get(session_id, consistent=True):
    try:
        return LiveSession.get(session_id, consistent_read=consistent)
    except DoesNotExist:
        raise DomainError("not_found", f"No live session {session_id}.") from None


def names(session_ids):
    """{session id: title} of those of the sessions that exist, in BatchGets (reports'
    labels)."""
    wanted = sorted(set(session_ids))
    return {session.session_id: session.title
            for session in LiveSession.batch_get(wanted)} if wanted else {}


def approval_of(session):
    """A session made before approvals existed went live as all did then: approved."""
    return session.approval or APPROVED


def shown(session_id):
    """A session as shoppers may see it: one not approved is not found."""
    session = get(session_id, consistent=False)
    if approval_of(session) != APPROVED:
        raise DomainError("not_found", f"No live session {session_id}.")
    return session


def hosted_by(session_id, host_id):
    """The host's own session; another guide's is not found."""
    session = get(session_id)
    if session.host_id != host_id:
        raise DomainError("not_found", f"You host no live session {session_id}.")
    return session


def pool(session, sku_id):
    return f"{session.session_id}#{sku_id}"


def _stock_from(stores):
    from chalicelib.catalog.stores import CENTRAL_WAREHOUSE

    return stores[0] if len(stores) == 1 else CENTRAL_WAREHOUSE


def _next_step(session, now):
    """When the job next has something to do for the session (None: nothing more)."""
    if session.status == SCHEDULED:  # one not approved just ends at its end
        return max(now, session.starts_at if approval_of(session) == APPROVED
                   else session.ends_at)
    if session.status == LIVE:
        return max(now, session.ends_at)
    return None


def next_step_actions(session, now):
    due = _next_step(session, now)
    if due is None:
        return [LiveSession.next_step_day.remove(), LiveSession.next_step_key.remove()]
    return [LiveSession.next_step_day.set(due.strftime("%Y-%m-%d")),
            LiveSession.next_step_key.set(f"{utc_text(due)}#{session.session_id}")]


def _host(host_id):
    """The host: a guide, and the name viewers see."""
    from chalicelib.members.reading import get_member
    from chalicelib.members.staff import staff_of

    host = staff_of(host_id)
    if host is None or host.role != "guide":
        raise DomainError("validation_error", "The host must be a guide.")
    name = host.name
    if not name:
        try:
            name = get_member(host_id).nickname
        except DomainError:
            name = None
    return host, name


def _lineup(items):
    from chalicelib.catalog.products import sku_lines

    lines = sku_lines([item["sku_id"] for item in items])
    return [{"sku_id": item["sku_id"], "product_id": lines[item["sku_id"]]["product_id"],
             "name": lines[item["sku_id"]]["name"],
             "live_price_fen": item["live_price_fen"], "quantity": item["quantity"]}
            for item in items]


def create(request, by, host_id, clock=system_clock):
    """request: title, room {kind, id}, lineup [{sku_id, live_price_fen, quantity}], stores
    (default: the host's store), starts_at, ends_at, expected_peak_per_s. by: the staff
    member creating it; an admin's session is approved, anyone else's waits for approval
    (the approver's pricing rights are checked then; the brand's floor now)."""
    now = clock.now()
    host, host_name = _host(host_id)
    stores = request.get("stores") or ([host.store_id] if host.store_id else None)
    if not stores:
        raise DomainError("validation_error", "Name the stores the session sells in.")
    terms = promotions.parsed_window({**request, "items": request["lineup"],
                                      "stores": stores})
    promotions.check_terms(terms, now)
    promotions.check_floor(request["lineup"], "live_price_fen")
    promotions.check_stock(request["lineup"], _stock_from(stores))
    session_id = new_id("ls")
    lineup = _lineup(request["lineup"])
    approved = by.role == "admin"
    session = LiveSession(
        session_id, title=request["title"], host_id=host_id, host_name=host_name,
        stores=stores, stock_from=_stock_from(stores), room=request["room"], lineup=lineup,
        starts_at=terms["starts_at"], ends_at=terms["ends_at"],
        starts_key=f"{utc_text(terms['starts_at'])}#{session_id}", status=SCHEDULED,
        shard_count=hotstock.shard_count(request.get("expected_peak_per_s", 2_000),
                                         min(item["quantity"] for item in lineup)),
        created_by=by.member_id, created_at=now, approval=APPROVED if approved else PENDING,
        approval_by=by.member_id if approved else None, approval_at=now if approved else None)
    due = _next_step(session, now)
    session.next_step_day = due.strftime("%Y-%m-%d")
    session.next_step_key = f"{utc_text(due)}#{session_id}"
    with transaction() as writes:
        writes.save(session, condition=LiveSession.session_id.does_not_exist(), name="session")
        writes.save(LiveFigures(session_id, units={item["sku_id"]: 0 for item in lineup}),
                    condition=LiveFigures.session_id.does_not_exist(), name="figures")
        for listing in promotions.listings(KIND, session_id, stores, session.ends_at):
            writes.save(listing, name=f"listing#{listing.store_key}")
    logs.info("live_session_created", session_id=session_id, host_id=host_id,
              approval=session.approval)
    return session


def decide(session, store_id, by, approve, clock=system_clock):
    """The store's manager (or an admin: `by`) approves or rejects a session waiting for it,
    once. Approving sets its prices: the brand's floor as it is now, and the approver's right
    to price below the brand in the store."""
    if session.stores != [store_id]:
        raise DomainError("not_found", f"This store has no live session {session.session_id}.")
    if approval_of(session) != PENDING:
        raise DomainError("conflict", f"This live session was {approval_of(session)} already.")
    now = clock.now()
    if session.status == ENDED or now >= session.ends_at:
        raise DomainError("live_session_over", "This live session is over.")
    if approve:
        promotions.check_prices(session.lineup, "live_price_fen", by.role, session.stores)
    session.approval = APPROVED if approve else REJECTED
    try:
        session.update(actions=[LiveSession.approval.set(session.approval),
                                LiveSession.approval_by.set(by.member_id),
                                LiveSession.approval_at.set(now),
                                *next_step_actions(session, now)],
                       condition=(LiveSession.approval == PENDING)
                       & (LiveSession.status == SCHEDULED))
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise DomainError("conflict", "This live session was decided meanwhile.") from None
    logs.info("live_session_decided", session_id=session.session_id,
              approval=session.approval, by=by.member_id)
    return session


def _go_live(session, now):
    """One transaction: each lineup item's units (as many as regular stock has, up to its
    quantity) leave regular stock and fill the shards; the session is LIVE."""
    with transaction() as writes:
        moved = hotstock.stock_in(writes, session.stock_from, session.lineup,
                                  functools.partial(pool, session), session.shard_count,
                                  f"live session {session.session_id}", "live-session", now)
        session.status = LIVE
        writes.update(session, actions=[
            LiveSession.status.set(LIVE), LiveSession.started_at.set(now),
            LiveSession.stocked.set(moved), *next_step_actions(session, now)],
            condition=LiveSession.status == SCHEDULED, name="session")
    logs.info("live_session_live", session_id=session.session_id, units=moved)
    _tell_reminded(session, now)
    short = {item["sku_id"]: moved[item["sku_id"]] for item in session.lineup
             if moved[item["sku_id"]] < item["quantity"]}
    if short:
        logs.warning("live_session_short_of_stock", session_id=session.session_id,
                     units=short)


def ask_reminder(member_id, session_id, clock=system_clock):
    """A member asks to be told when the session goes live (once, however often asked)."""
    from chalicelib.promotions.live.models import LiveMark

    session = shown(session_id)
    if session.status != SCHEDULED:
        raise DomainError("live_session_over", "This live session has started or is over.")
    LiveMark(session_id, f"remind#{member_id}", at=clock.now()).save()
    return {"session_id": session_id, "reminder": True}


def _tell_reminded(session, now):
    """Queues the "live starting" message to each member who asked, once per session."""
    from chalicelib.core.clock import FixedClock
    from chalicelib.promotions.live.models import LiveMark
    from chalicelib.notify import service

    for mark in LiveMark.query(session.session_id, LiveMark.mark.startswith("remind#")):
        service.notify(mark.mark.partition("#")[2], "live_starting",
                       {"title": session.title, "starts_at": now,
                        "session_id": session.session_id},
                       reason=f"live session {session.session_id} went live",
                       clock=FixedClock(now), once_key=session.session_id)


def _end(session, now):
    """One transaction: every shard emptied on condition it still holds what was read, the
    sum back in regular stock, the session ENDED. A session that never went live gives back
    nothing."""
    given = {}
    was = session.status
    with transaction() as writes:
        if was == LIVE:
            given = hotstock.return_to_stock_in(
                writes, session.stock_from, session.lineup, functools.partial(pool, session),
                f"live session {session.session_id} ended", "live-session", now)
        session.status = ENDED
        writes.update(session, actions=[
            LiveSession.status.set(ENDED), LiveSession.ended_at.set(now),
            LiveSession.returned.set(given), *next_step_actions(session, now)],
            condition=LiveSession.status == was, name="session")
    logs.info("live_session_ended", session_id=session.session_id, units=given)


def transition_due(session, now, wanted=None):
    """The one transition due, by the clock or as the host asks (wanted: LIVE or ENDED): ENDED
    at the scheduled end, LIVE for an approved scheduled session at its start, None when
    nothing is (an ended session, one not approved before its end). No I/O."""
    if session.status == ENDED:
        return None
    if wanted == ENDED or now >= session.ends_at:
        return ENDED
    if session.status == SCHEDULED and approval_of(session) == APPROVED \
            and (wanted == LIVE or now >= session.starts_at):
        return LIVE
    return None


def _step(session, now, wanted):
    """The one transition due (the clock's, or the one the host asks for); False if none."""
    transition = transition_due(session, now, wanted)
    if transition == ENDED:
        _end(session, now)
    elif transition == LIVE:
        _go_live(session, now)
    return transition is not None


def run_steps(session, clock=system_clock, wanted=None):
    """Whatever is due for the session now (or the host's start / end); safe to run again:
    each transition is conditioned on the status it leaves."""
    for attempt in range(ATTEMPTS):
        try:
            if _step(session, clock.now(), wanted):
                return get(session.session_id)
            return session
        except TransactWriteError:
            retry.pause(attempt)  # raced: read again
            session = get(session.session_id)
    raise RuntimeError(f"Live session {session.session_id} kept losing races.")


def start(session, clock=system_clock):
    """The host goes live (before the scheduled start too); starting a live session again
    changes nothing."""
    if session.status == ENDED or clock.now() >= session.ends_at:
        raise DomainError("live_session_over", "This live session is over.")
    if approval_of(session) != APPROVED:
        raise DomainError("live_session_not_approved",
                          "This live session was rejected." if session.approval == REJECTED
                          else "This live session waits for the store manager's approval.")
    return run_steps(session, clock, LIVE)


def end(session, clock=system_clock):
    if session.status == ENDED:
        raise DomainError("live_session_over", "This live session is over already.")
    return run_steps(session, clock, ENDED)


def pin(session, sku_id, clock=system_clock):
    """The product being presented (讲解中), or none."""
    if sku_id is not None and sku_id not in {item["sku_id"] for item in session.lineup}:
        raise DomainError("not_found", f"SKU {sku_id} is not in this session's lineup.")
    actions = [LiveSession.pinned_sku_id.set(sku_id), LiveSession.pinned_at.set(clock.now())] \
        if sku_id else [LiveSession.pinned_sku_id.remove(), LiveSession.pinned_at.remove()]
    try:
        session.update(actions=actions, condition=LiveSession.status != ENDED)
    except UpdateError:
        raise DomainError("live_session_over", "This live session is over.") from None
    return session


def run_job(clock=system_clock):
    """Every minute: sessions whose scheduled start or end has come (yesterday's and today's
    partitions of the sparse index)."""
    now = clock.now()
    done = 0
    for day in (now - timedelta(days=1), now):
        for session in LiveSession.by_next_step.query(
                day.strftime("%Y-%m-%d"), LiveSession.next_step_key <= f"{utc_text(now)}#~"):
            run_steps(get(session.session_id), clock)
            done += 1
    logs.info("job_done", job="live-sessions-minute", sessions=done)
    return done


def remaining(session):
    """Units left per SKU: the sum of its shards (eventually consistent reads)."""
    if session.stocked is None:
        return {item["sku_id"]: item["quantity"] if session.status == SCHEDULED else 0
                for item in session.lineup}
    left = hotstock.remaining([pool(session, item["sku_id"]) for item in session.lineup],
                              session.shard_count)
    return {name.partition("#")[2]: units for name, units in left.items()}


def for_display(units):
    """Exact up to 10, then rounded down to tens (as flash sales show it)."""
    return units if units <= 10 else units - units % 10


def _moment(value):
    return value.isoformat() if value else None


def session_view(session, left=None):
    left = remaining(session) if left is None else left
    lineup = [{"sku_id": item["sku_id"], "product_id": item["product_id"],
               "name": item["name"], "live_price_fen": item["live_price_fen"],
               "quantity": item["quantity"], "remaining": for_display(left[item["sku_id"]])}
              for item in session.lineup]
    pinned = next((item for item in lineup if item["sku_id"] == session.pinned_sku_id), None)
    return {"session_id": session.session_id, "title": session.title,
            "status": session.status, "approval": approval_of(session),
            "host": {"guide_id": session.host_id, "name": session.host_name},
            "stores": session.stores, "room": session.room,
            "starts_at": session.starts_at.isoformat(), "ends_at": session.ends_at.isoformat(),
            "started_at": _moment(session.started_at), "ended_at": _moment(session.ended_at),
            "pinned": pinned, "lineup": lineup}


def host_view(session):
    left = remaining(session)
    view = session_view(session, left)
    view.update(shard_count=session.shard_count, stock_from=session.stock_from,
                stocked=session.stocked, returned=session.returned, remaining_exact=left,
                approval_by=session.approval_by, approval_at=_moment(session.approval_at))
    return view


def _in_store(store_id, now):
    """The sessions selling in the store that have not ended, soonest first."""
    session_ids = promotions.listed_ids(KIND, store_id, now)
    return [session for session in sorted(LiveSession.batch_get(session_ids),
                                          key=lambda s: s.starts_at)
            if session.status != ENDED]


def listed(store_id, clock=system_clock):
    """Approved sessions, scheduled and live, selling in the store, soonest first."""
    return [session_view(session) for session in _in_store(store_id, clock.now())
            if approval_of(session) == APPROVED]


def store_sessions(store_id, approval=None, clock=system_clock):
    """The store's sessions that have not ended (those of one approval state), for its
    staff."""
    return [host_view(session) for session in _in_store(store_id, clock.now())
            if approval in (None, approval_of(session))]


def hosted(host_id, limit, cursor):
    from chalicelib.core.pagination import query_page

    return query_page(LiveSession.by_host, host_id, session_view, "live_sessions", limit=limit,
                      cursor=cursor, scan_index_forward=False)


# The live token: a viewer who entered the session may buy at its live prices.

def _b64encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signature(payload_text):
    from chalicelib.config import settings

    message = f"live-token.{payload_text}".encode()  # never valid as another kind of token
    return _b64encode(hmac.new(settings.token_secret.encode(), message,
                               hashlib.sha256).digest())


def issue_token(member_id, session_id, clock=system_clock):
    """`<payload>.<signature>`: the member, the session and the expiry, signed."""
    expires = clock.timestamp() + TOKEN_TTL_S
    claims = {"m": member_id, "s": session_id, "exp": expires}
    payload_text = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{payload_text}.{_signature(payload_text)}", expires


def verify_token(token, member_id, session_id, clock=system_clock):
    """Refuses a token that is missing, forged, another member's or session's, or expired."""
    refused = DomainError("live_token_invalid",
                          "Live prices are for viewers of this live session: enter it first.")
    if not token or not token.isascii():
        raise refused
    payload_text, _, signature = token.partition(".")
    if not signature or not hmac.compare_digest(signature, _signature(payload_text)):
        raise refused
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload_text + "=" * (-len(payload_text)
                                                                          % 4)))
    except ValueError:
        raise refused from None
    if claims.get("m") != member_id or claims.get("s") != session_id:
        raise refused
    if claims["exp"] <= clock.timestamp():
        raise DomainError("live_token_expired", "The live token has expired: enter the live "
                                                "session again.")
    return claims


def enter(member_id, session_id, clock=system_clock, visited=None):
    """A member enters the session (from the room or a shared link): counted once as a
    viewer, and given the live token checkout asks for. visited(store id or None, at), if
    given, is told of the visit (the session's store, when it has one)."""
    from datetime import datetime, timezone

    from chalicelib.promotions.live import figures

    session = shown(session_id)
    if session.status == ENDED or clock.now() >= session.ends_at:
        raise DomainError("live_session_over", "This live session is over.")
    figures.on_enter(session_id, member_id, clock.now())
    if visited:
        visited(session.stores[0] if len(session.stores) == 1 else None, clock.now())
    token, expires = issue_token(member_id, session_id, clock)
    return {"session_id": session_id, "live_token": token, "expires_in": TOKEN_TTL_S,
            "expires_at": datetime.fromtimestamp(expires, timezone.utc).isoformat(),
            "status": session.status}
