"""The flash-sale window job, every minute: reminders a few minutes before a sale starts,
its units moved from regular stock into its shards shortly before, and after the end every
unsold unit back to regular stock, exactly. The job reads, through a sparse index, only the
sales with a step due. Whether a purchase is allowed is decided by the clock in buying.py,
never by when this job runs.
"""
from datetime import timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib.promotions import hotstock
from chalicelib.core import logs, retry
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.clock import utc_text
from chalicelib.db.base import transaction
from chalicelib.errors import DomainError
from chalicelib.promotions.flash import sales
from chalicelib.promotions.flash.models import FlashReminder, FlashSale

ATTEMPTS = 20
REMIND, STOCK_IN, GIVE_BACK = "remind", "stock_in", "give_back"


def steps_due(sale, now):
    """The window's steps due for the sale now, in the order they run: before it closes, the
    reminders from REMIND_BEFORE its start and its units moved in from STOCK_BEFORE, each
    once; once it has closed (at its end, or ended early), only its unsold units given back,
    once. No I/O."""
    if now >= sale.closes_at:
        return [GIVE_BACK] if sale.returned is None else []
    due = []
    if sale.reminders and sale.reminded_at is None \
            and now >= sale.starts_at - sales.REMIND_BEFORE:
        due.append(REMIND)
    if sale.stocked is None and now >= sale.starts_at - sales.STOCK_BEFORE:
        due.append(STOCK_IN)
    return due


def _pool_of(sale):
    return lambda sku_id: f"{sale.sale_id}#{sku_id}"


def _stock_in(sale, now):
    """One transaction: each SKU's units (as many as regular stock has, up to the sale's
    quantity) leave regular stock and fill the shards."""
    with transaction() as writes:
        moved = hotstock.stock_in(writes, sale.stock_from, sale.items, _pool_of(sale),
                                  sale.shard_count, f"flash sale {sale.sale_id}", "flash-sale",
                                  now)
        sale.stocked = moved
        writes.update(sale, actions=[FlashSale.stocked.set(moved), *sales.next_step_actions(
            sale, now)], condition=FlashSale.stocked.does_not_exist()
            & FlashSale.returned.does_not_exist(), name="sale")
    short = {sku: units for sku, units in moved.items()
             if units < next(i["quantity"] for i in sale.items if i["sku_id"] == sku)}
    logs.info("flash_sale_stocked", sale_id=sale.sale_id, units=moved)
    if short:
        logs.warning("flash_sale_short_of_stock", sale_id=sale.sale_id, units=short)


def _give_back(sale, now):
    """One transaction: every shard emptied on condition it still holds what was read, and
    the sum back in regular stock. A purchase or a release in between makes it read again.
    A sale that ended before its units were moved gives back nothing."""
    with transaction() as writes:
        given = hotstock.return_to_stock_in(writes, sale.stock_from, sale.items,
                                            _pool_of(sale), f"flash sale {sale.sale_id} ended",
                                            "flash-sale", now)
        was_stocked = FlashSale.stocked.exists() if sale.stocked is not None \
            else FlashSale.stocked.does_not_exist()
        sale.returned = given
        writes.update(sale, actions=[FlashSale.returned.set(given),
                                     *sales.next_step_actions(sale, now)],
                      condition=FlashSale.returned.does_not_exist() & was_stocked, name="sale")
    logs.info("flash_sale_returned", sale_id=sale.sale_id, units=given)


def _remind(sale, now):
    """Queues the reminder of each member who asked, once: marked before it is queued (and
    queued once per member and sale). The notifications job sends it, if the member has a
    credit for the template."""
    from pynamodb.exceptions import UpdateError

    from chalicelib.core.clock import FixedClock
    from chalicelib.notify import hooks

    queued = 0
    for reminder in FlashReminder.query(sale.sale_id):
        if reminder.sent_at is not None:
            continue
        try:
            reminder.update(actions=[FlashReminder.sent_at.set(now)],
                            condition=FlashReminder.sent_at.does_not_exist())
        except UpdateError:
            continue
        queued += hooks.flash_reminder(reminder.member_id, sale, FixedClock(now)) is not None
    sale.reminded_at = now
    sale.update(actions=[FlashSale.reminded_at.set(now), *sales.next_step_actions(sale, now)])
    logs.info("flash_sale_reminded", sale_id=sale.sale_id, queued=queued)


def run_steps(sale, clock=system_clock):
    """Whatever is due for the sale now; safe to run again (each step is conditional)."""
    for attempt in range(ATTEMPTS):
        now = clock.now()
        try:
            for step in steps_due(sale, now):
                {REMIND: _remind, STOCK_IN: _stock_in, GIVE_BACK: _give_back}[step](sale, now)
            return sale
        except TransactWriteError:
            retry.pause(attempt)  # raced: read again
            sale = sales.get(sale.sale_id)
    raise RuntimeError(f"Flash sale {sale.sale_id} kept losing races.")


def run_job(clock=system_clock):
    """Every minute: the steps due for every sale whose next step has come (yesterday's and
    today's partitions of the sparse index)."""
    now = clock.now()
    done = 0
    for day in (now - timedelta(days=1), now):
        for sale in FlashSale.by_next_step.query(
                day.strftime("%Y-%m-%d"), FlashSale.next_step_key <= f"{utc_text(now)}#~"):
            run_steps(sales.get(sale.sale_id), clock)
            done += 1
    logs.info("job_done", job="flash-sales-minute", sales=done)
    return done


def end_early(sale, clock=system_clock):
    """Ends the sale now; its unsold units go back to regular stock at once."""
    now = clock.now()
    if sale.closes_at <= now:
        raise DomainError("flash_sale_over", "This sale is over already.")
    sale.update(actions=[FlashSale.ended_early_at.set(now)],
                condition=FlashSale.ended_early_at.does_not_exist())
    run_steps(sale, clock)
    return sales.get(sale.sale_id)
