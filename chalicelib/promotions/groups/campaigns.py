"""Group-buy campaigns: created by brand or store ops, listed with the groups a shopper can
join."""
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib.promotions import listings as promotions
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.clock import utc_text
from chalicelib.core.ids import new_id
from chalicelib.db.base import transaction
from chalicelib.errors import DomainError
from chalicelib.promotions.groups.models import Group, GroupBuy, GroupSeat

KIND = "group_buy"


def get(campaign_id):
    try:
        return GroupBuy.get(campaign_id, consistent_read=True)
    except DoesNotExist:
        raise DomainError("not_found", f"No group-buy {campaign_id}.") from None


def names(campaign_ids):
    """{campaign id: name} of those of the campaigns that exist, in BatchGets (reports'
    labels)."""
    wanted = sorted(set(campaign_ids))
    return {campaign.campaign_id: campaign.name
            for campaign in GroupBuy.batch_get(wanted)} if wanted else {}


def create(request, by, clock=system_clock):
    """request: name, items [{sku_id, group_price_fen}], stores (None: all), group_size,
    fill_minutes, per_member_limit, new_customers_only, auto_complete, starts_at, ends_at.
    by: the staff member creating it."""
    now = clock.now()
    request = promotions.parsed_window(request)
    promotions.check_terms(request, now)
    promotions.check_prices(request["items"], "group_price_fen", by.role, request.get("stores"))
    campaign = GroupBuy(new_id("gb"), name=request["name"], items=request["items"],
                        stores=request.get("stores"), group_size=request["group_size"],
                        fill_minutes=request.get("fill_minutes", 24 * 60),
                        per_member_limit=request.get("per_member_limit", 1),
                        new_customers_only=request.get("new_customers_only", False),
                        auto_complete=request.get("auto_complete", False),
                        starts_at=request["starts_at"], ends_at=request["ends_at"],
                        created_by=by.member_id, created_at=now)
    with transaction() as writes:
        writes.save(campaign, condition=GroupBuy.campaign_id.does_not_exist(), name="campaign")
        for row in promotions.listings(KIND, campaign.campaign_id, campaign.stores,
                                       campaign.ends_at):
            writes.save(row, name=f"listing#{row.store_key}")
    return campaign


def campaign_view(campaign, open_groups=None):
    view = {"campaign_id": campaign.campaign_id, "name": campaign.name,
            "items": campaign.items, "stores": campaign.stores,
            "group_size": campaign.group_size, "fill_minutes": campaign.fill_minutes,
            "per_member_limit": campaign.per_member_limit,
            "new_customers_only": campaign.new_customers_only,
            "auto_complete": campaign.auto_complete,
            "starts_at": campaign.starts_at.isoformat(), "ends_at": campaign.ends_at.isoformat()}
    if open_groups is not None:
        view["open_groups"] = open_groups
    return view


def open_groups(campaign_id, store_id, now, limit=10):
    """Groups of the campaign at the store a shopper can still join, soonest to expire first."""
    found = Group.open_groups.query(f"{campaign_id}#{store_id}",
                                    Group.expires_key > utc_text(now), limit=limit * 2)
    return [group_view(group, now) for group in found
            if group.seats_taken < group.size][:limit]


def listed(store_id, clock=system_clock):
    now = clock.now()
    campaigns = GroupBuy.batch_get(promotions.listed_ids(KIND, store_id, now))
    return [campaign_view(campaign, open_groups(campaign.campaign_id, store_id, now))
            for campaign in sorted(campaigns, key=lambda c: c.starts_at)
            if campaign.starts_at <= now < campaign.ends_at]


def group_view(group, now, seats=None):
    view = {"group_id": group.group_id, "campaign_id": group.campaign_id,
            "store_id": group.store_id, "sku_id": group.sku_id, "status": group.status,
            "size": group.size, "seats_left": max(0, group.size - group.seats_taken),
            "expires_at": group.expires_at.isoformat(),
            "seconds_left": max(0, int((group.expires_at - now).total_seconds()))
            if group.status == "OPEN" else 0}
    if seats is not None:
        view["members"] = [{"nickname": seat.nickname, "avatar_url": seat.avatar_url,
                            "leader": seat.member_id == group.leader_id,
                            "paid": seat.status == "PAID"}
                           for seat in sorted(seats, key=lambda seat: seat.joined_at)
                           if seat.status in ("HELD", "PAID")]
    return view


def get_group(group_id):
    try:
        return Group.get(group_id, consistent_read=True)
    except DoesNotExist:
        raise DomainError("not_found", f"No group {group_id}.") from None


def group_with_members(group_id, clock=system_clock):
    group = get_group(group_id)
    return group_view(group, clock.now(), list(GroupSeat.query(group_id)))


def fill_deadline(campaign, now):
    """A group has fill_minutes to fill, and never past the campaign's end."""
    return min(now + timedelta(minutes=campaign.fill_minutes), campaign.ends_at)
