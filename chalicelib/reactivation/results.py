"""What follows a contact: a paid order within reactivated_within_days of the member's latest
contact makes them reactivated, and the come-back coupon used in a paid order counts as used.
Each is marked on the contact with a conditional update in the transaction that moves the
report's counters, so however often a payment's effects run, each counts once per contact.
"""
from pynamodb.exceptions import TransactWriteError

from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import Cancellation, transaction
from chalicelib.reactivation import figures
from chalicelib.reactivation.models import Contact


def _once(contact, actions, condition, **amounts):
    try:
        with transaction() as writes:
            writes.update(contact, actions=actions, condition=condition, name="contact")
            figures.add_in(writes, contact.day, figures.scopes(contact.store_id,
                                                               contact.guide_id), **amounts)
    except TransactWriteError as error:
        if not Cancellation.of(error).failed("contact"):
            raise
        return False
    return True


def on_paid(order, clock=system_clock):
    """Called for every paid order (the order_paid event's subscriber): one Query of the member's latest
    contact, and nothing more for a member never contacted."""
    latest = next(iter(Contact.query(order.member_id, scan_index_forward=False, limit=1,
                                     consistent_read=True)), None)
    if latest is None:
        return None
    paid_at = order.paid_at or clock.now()
    if latest.member_coupon_id and order.member_coupon_id == latest.member_coupon_id \
            and latest.coupon_order_id is None:
        _once(latest, [Contact.coupon_order_id.set(order.order_id)],
              Contact.coupon_order_id.does_not_exist(), coupons_used=1)
    if latest.reactivated_order_id is None \
            and latest.contacted_at <= paid_at <= latest.counts_until:
        _once(latest, [Contact.reactivated_order_id.set(order.order_id),
                       Contact.reactivated_at.set(paid_at),
                       Contact.gmv_fen.set(order.total_fen)],
              Contact.reactivated_order_id.does_not_exist(), reactivated=1,
              gmv_fen=order.total_fen)
    return latest
