"""Coupons: ops issue them, members claim them (within the total and their own limit), and an
order uses one in the same transaction that places it.

A coupon's visibility is public (listed at GET /coupons, claimable) or granted: never listed,
not claimable (as if it did not exist), only given by reactivation, campaigns or an admin,
within the same total, window and per-member limit as a claim."""
import hashlib
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.coupons.models import Coupon, CouponClaims, MemberCoupon
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.clock import utc_text
from chalicelib.core.ids import new_id
from chalicelib.db.base import Cancellation, transaction
from chalicelib.errors import DomainError

BRAND = "brand"
PUBLIC, GRANTED = "public", "granted"
TERMS = ("coupon_id", "name", "kind", "amount_fen", "percent_off", "cap_fen", "threshold_fen",
         "store_id", "channels")


def terms_of(coupon):
    terms = {key: getattr(coupon, key) for key in TERMS}
    terms["channels"] = list(coupon.channels)
    terms["valid_from"], terms["valid_until"] = (utc_text(coupon.valid_from),
                                                 utc_text(coupon.valid_until))
    return terms


def coupon_view(coupon):
    return {**terms_of(coupon), "visibility": coupon.visibility,
            "per_member_limit": coupon.per_member_limit, "total": coupon.total,
            "left": coupon.total - coupon.claimed}


def create(data):
    if data["kind"] == "fixed" and not data.get("amount_fen"):
        raise DomainError("validation_error", "A fixed coupon needs amount_fen.")
    if data["kind"] == "percent" and not data.get("percent_off"):
        raise DomainError("validation_error", "A percent coupon needs percent_off.")
    valid_from, valid_until = (datetime.fromisoformat(data["valid_from"]),
                               datetime.fromisoformat(data["valid_until"]))
    if valid_until <= valid_from:
        raise DomainError("validation_error", "valid_until must come after valid_from.")
    if data.get("store_id"):
        from chalicelib.catalog.stores import get_store

        get_store(data["store_id"])
    coupon = Coupon(new_id("cp"), **{key: value for key, value in data.items()
                                     if key not in ("valid_from", "valid_until")})
    coupon.valid_from, coupon.valid_until = valid_from, valid_until
    if coupon.visibility == PUBLIC:  # listed: in the index that GET /coupons reads
        coupon.scope = data.get("store_id") or BRAND
        coupon.valid_until_key = f"{utc_text(coupon.valid_until)}#{coupon.coupon_id}"
    coupon.save()
    return coupon_view(coupon)


def claimable(store_id, clock=system_clock):
    """The brand's coupons and the store's that are still open to claim, soonest ending first."""
    now = utc_text(clock.now())
    found = []
    for scope in (BRAND, store_id):
        found += [coupon for coupon in Coupon.by_scope.query(
            scope, Coupon.valid_until_key > now) if coupon.claimed < coupon.total]
    found.sort(key=lambda coupon: coupon.valid_until_key)
    return [coupon_view(coupon) for coupon in found]


def _coupon(coupon_id, visibilities=(PUBLIC, GRANTED)):
    try:
        coupon = Coupon.get(coupon_id)
    except DoesNotExist:
        coupon = None
    if coupon is None or coupon.visibility not in visibilities:
        raise DomainError("not_found", f"No coupon {coupon_id}.")
    return coupon


def visibility_of(coupon_id):
    """Whether the coupon is public or granted; not found when there is no such coupon."""
    return _coupon(coupon_id).visibility


def names(coupon_ids):
    """{coupon id: name} of those of the coupons that exist, in BatchGets (reports' labels)."""
    wanted = sorted(set(coupon_ids))
    return {coupon.coupon_id: coupon.name for coupon in Coupon.batch_get(wanted)} \
        if wanted else {}


def claim(member_id, coupon_id, clock=system_clock):
    """A member claims one more of a public coupon."""
    return _hand_over(member_id, _coupon(coupon_id, (PUBLIC,)), clock.now())


class _AlreadyGiven(Exception):
    """The member coupon a grant's idempotency key names exists already."""


def grant(member_id, coupon_id, idempotency_key=None, clock=system_clock):
    """Gives the member one of the coupon, whatever its visibility, as a claim would. With an
    idempotency key, a repeat gives back the coupon the first one gave."""
    coupon = _coupon(coupon_id)
    if idempotency_key is None:
        return _hand_over(member_id, coupon, clock.now())
    member_coupon_id = "mcg_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
    try:
        return _hand_over(member_id, coupon, clock.now(), member_coupon_id)
    except _AlreadyGiven:
        earlier = MemberCoupon.get(member_id, member_coupon_id, consistent_read=True)
    if earlier.coupon_id != coupon_id:
        raise DomainError("idempotency_key_reused", "This Idempotency-Key granted another coupon.")
    return member_coupon_view(earlier)


def _hand_over(member_id, coupon, now, member_coupon_id=None):
    """One more of the coupon for the member, if any are left and the member is within the
    limit: both counted in the transaction that hands it over."""
    if now >= coupon.valid_until:
        raise DomainError("coupon_unavailable", "This coupon has ended.")
    mine = MemberCoupon(member_id, member_coupon_id or new_id("mc"), coupon_id=coupon.coupon_id,
                        terms=terms_of(coupon), claimed_at=now)
    try:
        with transaction() as writes:
            writes.update(coupon, actions=[Coupon.claimed.add(1)],
                          condition=Coupon.claimed < coupon.total, name="coupon")
            writes.update(CouponClaims(f"{coupon.coupon_id}#{member_id}"),
                          actions=[CouponClaims.count.add(1)],
                          condition=CouponClaims.count.does_not_exist()
                          | (CouponClaims.count < coupon.per_member_limit), name="claims")
            writes.save(mine, condition=MemberCoupon.member_coupon_id.does_not_exist(),
                        name="member_coupon")
    except TransactWriteError as error:
        cancelled = Cancellation.of(error)
        if cancelled.failed("member_coupon"):
            raise _AlreadyGiven() from None
        if cancelled.failed("coupon"):
            raise DomainError("coupon_unavailable", "This coupon is all claimed.") from None
        if cancelled.failed("claims"):
            raise DomainError("coupon_unavailable",
                              f"A member may have this coupon {coupon.per_member_limit} "
                              f"time(s).") from None
        raise DomainError("conflict", "Many are claiming this coupon; try again.") from None
    return member_coupon_view(mine)


def member_coupon_view(mine):
    return {"member_coupon_id": mine.member_coupon_id, "status": mine.status,
            "order_id": mine.order_id, "claimed_at": mine.claimed_at.isoformat(),
            **mine.terms}


def mine(member_id, status=None):
    condition = (MemberCoupon.status == status) if status else None
    return [member_coupon_view(c) for c in MemberCoupon.query(member_id,
                                                             filter_condition=condition)]


def usable(member_id, member_coupon_id):
    """The member's coupon as the pricing engine takes it; refused unless still available."""
    try:
        mine = MemberCoupon.get(member_id, member_coupon_id, consistent_read=True)
    except DoesNotExist:
        raise DomainError("not_found", f"You have no coupon {member_coupon_id}.") from None
    if mine.status != "available":
        raise DomainError("coupon_unusable", "This coupon has been used.")
    return {"member_coupon_id": member_coupon_id, "terms": mine.terms}


def use_in(writes, member_id, member_coupon_id, order_id):
    """Adds the coupon's use to an order's transaction, named member_coupon: it fails if
    another order took it."""
    writes.update(MemberCoupon(member_id, member_coupon_id),
                  actions=[MemberCoupon.status.set("used"), MemberCoupon.order_id.set(order_id)],
                  condition=MemberCoupon.status == "available", name="member_coupon")


def give_back_in(writes, member_id, member_coupon_id, order_id):
    """Adds the coupon's return to a transaction (an order that was not paid, or refunded),
    named member_coupon."""
    writes.update(MemberCoupon(member_id, member_coupon_id),
                  actions=[MemberCoupon.status.set("available"), MemberCoupon.order_id.remove()],
                  condition=MemberCoupon.order_id == order_id, name="member_coupon")
