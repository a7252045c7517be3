"""Opening and joining a group: each is an order of the group_buy channel, placed by the
kernel (orders/placing.py) in one transaction with the seat it holds.

Its take: the line's stock, on condition it stays at or above zero. The channel's items in
the order's transaction: the group ("group": created by the leader; for a joiner one conditional
update: a seat is free and the group is open), the member's seat ("seat": one per member),
the member's orders in the campaign ("group_buy_purchases": within the limit). A seat is held
while its order waits for payment and given back when it does not come; a group never has
more seats taken than its size. The request names the campaign and, to join, the group.
"""
from dataclasses import dataclass

from chalicelib.promotions import listings as promotions
from chalicelib.promotions.channel import PromotionChannel
from chalicelib.orders import placing
from chalicelib.orders.channels import Quote
from chalicelib.config import settings
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.clock import utc_text
from chalicelib.core.ids import new_id
from chalicelib.errors import DomainError
from chalicelib.promotions.groups import campaigns
from chalicelib.promotions.groups.models import (HELD, LEFT, OPEN, Group, GroupBuy,
                                               GroupBuyPurchases, GroupSeat)

CAMPAIGN, GROUP = "campaign", "group"  # what the request names: the campaign, the group
SEAT, PURCHASES = "seat", "group_buy_purchases"  # the channel's own items (and GROUP)


def new_group(campaign, store_id, sku_id, leader_id, now):
    group_id = new_id("g")
    expires_at = campaigns.fill_deadline(campaign, now)
    expires_key = f"{utc_text(expires_at)}#{group_id}"
    return Group(group_id, campaign_id=campaign.campaign_id, store_id=store_id, sku_id=sku_id,
                 leader_id=leader_id, size=campaign.group_size, seats_taken=0, paid=0,
                 status=OPEN, created_at=now, expires_at=expires_at, expires_key=expires_key,
                 open_key=f"{campaign.campaign_id}#{store_id}",
                 expiry_day=expires_at.strftime("%Y-%m-%d"))


def _insufficient(line):
    return DomainError("insufficient_stock", f"Not enough {line['name']} left.")


def _full():
    return DomainError("group_full", "This group is full or closed; open a new one.")


@dataclass
class _Plan:
    """Whom and what a group-buy order is for: the member as read, the campaign, the group to
    open (opening) or to join, and the request."""

    member: object
    campaign: GroupBuy
    group: Group
    opening: bool
    request: dict


class GroupBuyChannel(PromotionChannel):
    name = "group_buy"
    attempts = 20

    def quote(self, member_id, request, now):
        campaign = campaigns.get(request[CAMPAIGN])
        if request[GROUP] is None and not promotions.runs_in(campaign.stores,
                                                             request["store_id"]):
            raise DomainError("validation_error", "This group-buy does not run in this store.")
        return self._quote(member_id, request, campaign, now)

    def replan(self, quote, now):
        """The member and the group are read again; the campaign stays as read."""
        return self._quote(quote.plan.member.member_id, quote.plan.request,
                           quote.plan.campaign, now)

    def _quote(self, member_id, request, campaign, now):
        from chalicelib.members.reading import get_member

        if not campaign.starts_at <= now < campaign.ends_at:
            raise DomainError("group_buy_not_live", "This group-buy is not on now.")
        member = get_member(member_id)
        opening = request[GROUP] is None
        if opening:
            group = new_group(campaign, request["store_id"], request["sku_id"],
                              member.member_id, now)
        else:
            group = campaigns.get_group(request[GROUP])  # read again on every attempt
            if group.status != OPEN or group.expires_at <= now \
                    or group.seats_taken >= group.size:
                raise _full()
            if campaign.new_customers_only and member.orders_count:
                raise DomainError("group_buy_new_customers_only",
                                  "This group is for shoppers who have not ordered before.")
        line = promotions.priced_line(campaign.items, group.sku_id, request.get("quantity", 1),
                                      "group_price_fen", "group-buy")
        breakdown = self.price(member, line, group.store_id,
                               request.get("fulfilment", "pickup"), now)
        pay_minutes = max(1, min(settings.order_pay_minutes,
                                 int((group.expires_at - now).total_seconds() // 60)))
        return Quote(breakdown, group.store_id, group.store_id, member.openid, member.guide_id,
                     pay_minutes, {"group_id": group.group_id, "group_buy_id": campaign.campaign_id,
                      "awaiting_group": True},
                     _Plan(member, campaign, group, opening, request))

    def takes(self, order, quote):
        from chalicelib.catalog import stock

        line = order.breakdown["lines"][0]
        return [stock.order_take(quote.plan.group.store_id, line["sku_id"], line["quantity"],
                                 _insufficient(line))]

    def reserve_in(self, writes, order, quote, now):
        plan = quote.plan
        group, member, campaign = plan.group, plan.member, plan.campaign
        placed = GroupBuyPurchases.orders
        if plan.opening:
            group.seats_taken = 1
            writes.save(group, condition=Group.group_id.does_not_exist(), name=GROUP)
        else:
            writes.update(group, actions=[Group.seats_taken.add(1)],
                          condition=(Group.status == OPEN) & (Group.seats_taken < group.size)
                          & (Group.expires_at > now), name=GROUP)
        writes.save(GroupSeat(group.group_id, member.member_id, order_id=order.order_id,
                              status=HELD, joined_at=now, nickname=member.nickname,
                              avatar_url=member.avatar_url),
                    condition=GroupSeat.member_id.does_not_exist(), name=SEAT)
        writes.update(GroupBuyPurchases(f"{campaign.campaign_id}#{member.member_id}"),
                      actions=[placed.add(1)],
                      condition=placed.does_not_exist()
                      | (placed < campaign.per_member_limit), name=PURCHASES)

    def refusal(self, cancelled, order, quote):
        if cancelled.failed(GROUP):
            return _full()
        if cancelled.failed(SEAT):
            return DomainError("conflict", "You are in this group already.")
        if cancelled.failed(PURCHASES):
            return DomainError("group_buy_limit", "You have reached this group-buy's limit.")
        return None

    def give_back_in(self, writes, order, reason, now):
        """An unpaid group order: its stock back, its seat free again, its campaign order
        uncounted."""
        from chalicelib.catalog import stock

        line = order.breakdown["lines"][0]
        stock.give_back_for_order_in(writes, order.stock_from, [line])
        writes.update(GroupSeat(order.group_id, order.member_id),
                      actions=[GroupSeat.status.set(LEFT)], condition=GroupSeat.status == HELD,
                      name=SEAT)
        writes.update(Group(order.group_id), actions=[Group.seats_taken.add(-1)], name=GROUP)
        group = campaigns.get_group(order.group_id)
        writes.update(GroupBuyPurchases(f"{group.campaign_id}#{order.member_id}"),
                      actions=[GroupBuyPurchases.orders.add(-1)], name=PURCHASES)

    def before_refund(self, order):
        """A seat in a group still filling is free again."""
        from chalicelib.promotions.groups import completion

        completion.leave(order)


GROUP_BUY = GroupBuyChannel()


def open_group(member_id, campaign_id, key_header, request, clock=system_clock):
    """The leader's order opens a group: (order, created)."""
    return placing.place(GROUP_BUY, member_id, key_header,
                         {GROUP: request.get("group_id"), CAMPAIGN: campaign_id, **request},
                         clock)


def join_group(member_id, group_id, key_header, request, clock=system_clock):
    """A friend's order takes a seat in the group: (order, created)."""
    campaign_id = campaigns.get_group(group_id).campaign_id
    return placing.place(GROUP_BUY, member_id, key_header,
                         {GROUP: group_id, CAMPAIGN: campaign_id, **request,
                          "group_id": group_id}, clock)
