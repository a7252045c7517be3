"""Opening and joining a group: each is an order (channel group_buy) placed in one
transaction with the seat it holds.

Items, in order: the Idempotency-Key, the order, the stock taken (and its audit entry), the
group (created by the leader; for a joiner one conditional update: a seat is free and the
group is open), the member's seat (one per member), the member's orders in the campaign
(within the limit), the member's holds of unpaid orders (checkout/holds.py). A seat is held
while its order waits for payment and given back when it does not come; a group never has
more seats taken than its size.
"""
import random
import time

from pynamodb.exceptions import TransactWriteError

from chalicelib.promotions import listings as promotions
from chalicelib.orders import holds, placing as orders, pricing
from chalicelib.config import settings
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.clock import utc_text
from chalicelib.core.ids import new_id
from chalicelib.db.base import cancellation_codes, transaction
from chalicelib.errors import DomainError
from chalicelib.promotions.groups import campaigns
from chalicelib.promotions.groups.models import Group, GroupBuyPurchases, GroupSeat

OPEN, COMPLETED, FAILED = "OPEN", "COMPLETED", "FAILED"
HELD, PAID, LEFT = "HELD", "PAID", "LEFT"
KEY, STOCK, GROUP, SEAT, LIMIT = 0, 2, 4, 5, 6  # items in the order added; then the holds
ATTEMPTS = 20


def new_group(campaign, store_id, sku_id, leader_id, now):
    group_id = new_id("g")
    expires_at = campaigns.fill_deadline(campaign, now)
    expires_key = f"{utc_text(expires_at)}#{group_id}"
    return Group(group_id, campaign_id=campaign.campaign_id, store_id=store_id, sku_id=sku_id,
                 leader_id=leader_id, size=campaign.group_size, seats_taken=0, paid=0,
                 status=OPEN, created_at=now, expires_at=expires_at, expires_key=expires_key,
                 open_key=f"{campaign.campaign_id}#{store_id}",
                 expiry_day=expires_at.strftime("%Y-%m-%d"))


def _order(member, campaign, group, request, now):
    from chalicelib.members import loyalty
    from chalicelib.members import program as loyalty_program

    program = loyalty_program.current()
    fulfilment = request.get("fulfilment", "pickup")
    line = promotions.priced_line(campaign.items, group.sku_id, request.get("quantity", 1),
                                  "group_price_fen", "group-buy")
    breakdown = pricing.price([line],
                              level=loyalty.current_level(member, program), program=program,
                              store_id=group.store_id, channel="group_buy",
                              fulfilment=fulfilment, now=now)
    pay_minutes = max(1, min(settings.order_pay_minutes,
                             int((group.expires_at - now).total_seconds() // 60)))
    order = orders.new_order(new_id("o"), member, {**request, "store_id": group.store_id,
                                                   "fulfilment": fulfilment},
                             breakdown, group.store_id, now, pay_minutes)
    order.group_id, order.awaiting_group = group.group_id, True
    return order


def _write(key, request_hash, order, campaign, group, member, now, opening):
    from chalicelib.catalog import stock

    line = order.breakdown["lines"][0]
    placed = GroupBuyPurchases.orders
    with transaction() as writes:
        orders.add_order_in(writes, key, request_hash, order, now)
        stock.take_in(writes, group.store_id, line["sku_id"], line["quantity"],
                      f"order {order.order_id}", member.member_id, now)
        if opening:
            group.seats_taken = 1
            writes.save(group, condition=Group.group_id.does_not_exist())
        else:
            writes.update(group, actions=[Group.seats_taken.add(1)],
                          condition=(Group.status == OPEN) & (Group.seats_taken < group.size)
                          & (Group.expires_at > now))
        writes.save(GroupSeat(group.group_id, member.member_id, order_id=order.order_id,
                              status=HELD, joined_at=now, nickname=member.nickname,
                              avatar_url=member.avatar_url),
                    condition=GroupSeat.member_id.does_not_exist())
        writes.update(GroupBuyPurchases(f"{campaign.campaign_id}#{member.member_id}"),
                      actions=[placed.add(1)],
                      condition=placed.does_not_exist()
                      | (placed < campaign.per_member_limit))
        holds.hold_in(writes, order, now)


def _refusal(codes, order):
    line = order.breakdown["lines"][0]
    if codes[STOCK] == "ConditionalCheckFailed":
        return DomainError("insufficient_stock", f"Not enough {line['name']} left.")
    if codes[GROUP] == "ConditionalCheckFailed":
        return DomainError("group_full", "This group is full or closed; open a new one.")
    if codes[SEAT] == "ConditionalCheckFailed":
        return DomainError("conflict", "You are in this group already.")
    if codes[LIMIT] == "ConditionalCheckFailed":
        return DomainError("group_buy_limit", "You have reached this group-buy's limit.")
    return holds.refusal(codes, order)


def _place(member_id, key_header, request, campaign, group_for, opening, clock):
    key = f"{member_id}#{key_header}"
    request_hash = orders.request_hash_of({"group": request.get("group_id"),
                                           "campaign": campaign.campaign_id, **request})
    earlier = orders.repeat(key, request_hash)
    if earlier is not None:
        return earlier, False
    for attempt in range(ATTEMPTS):
        now = clock.now()
        if not campaign.starts_at <= now < campaign.ends_at:
            raise DomainError("group_buy_not_live", "This group-buy is not on now.")
        member = orders.member_of(member_id)
        group = group_for(member, now)
        if not opening and campaign.new_customers_only and member.orders_count:
            raise DomainError("group_buy_new_customers_only",
                              "This group is for shoppers who have not ordered before.")
        order = _order(member, campaign, group, request, now)
        try:
            _write(key, request_hash, order, campaign, group, member, now, opening)
            return order, True
        except TransactWriteError as error:
            codes = cancellation_codes(error)
        if codes[KEY] == "ConditionalCheckFailed":
            return orders.repeat(key, request_hash), False
        refusal = _refusal(codes, order)
        if refusal is not None:
            raise refusal from None
        time.sleep(random.uniform(0, 0.003 * (attempt + 1)))
    raise DomainError("conflict", "Too many shoppers at once; try again.")


def open_group(member_id, campaign_id, key_header, request, clock=system_clock):
    """The leader's order opens a group: (order, created)."""
    campaign = campaigns.get(campaign_id)
    if not promotions.runs_in(campaign.stores, request["store_id"]):
        raise DomainError("validation_error", "This group-buy does not run in this store.")

    def group_for(member, now):
        return new_group(campaign, request["store_id"], request["sku_id"], member.member_id,
                         now)

    return _place(member_id, key_header, request, campaign, group_for, True, clock)


def join_group(member_id, group_id, key_header, request, clock=system_clock):
    """A friend's order takes a seat in the group: (order, created)."""
    campaign = campaigns.get(campaigns.get_group(group_id).campaign_id)

    def group_for(member, now):
        group = campaigns.get_group(group_id)  # read again on every attempt
        if group.status != OPEN or group.expires_at <= now or group.seats_taken >= group.size:
            raise DomainError("group_full", "This group is full or closed; open a new one.")
        return group

    return _place(member_id, key_header, {**request, "group_id": group_id}, campaign,
                  group_for, False, clock)


def give_back_in(writes, order, now):
    """An unpaid group order: its stock back, its seat free again, its campaign order
    uncounted."""
    from chalicelib.catalog import stock

    line = order.breakdown["lines"][0]
    stock.put_back_in(writes, order.stock_from, line["sku_id"], line["quantity"],
                      f"order {order.order_id} not paid", order.member_id, now)
    writes.update(GroupSeat(order.group_id, order.member_id),
                  actions=[GroupSeat.status.set(LEFT)], condition=GroupSeat.status == HELD)
    writes.update(Group(order.group_id), actions=[Group.seats_taken.add(-1)])
    group = campaigns.get_group(order.group_id)
    writes.update(GroupBuyPurchases(f"{group.campaign_id}#{order.member_id}"),
                  actions=[GroupBuyPurchases.orders.add(-1)])
