"""Tags and segments. Staff add manual tags; computed tags follow a member's orders and the
calendar. Each tag is indexed brand-wide and per home store, so a segment is a Query on one
tag's members plus key lookups for the others: its cost follows the segment, not the pond."""
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError
from chalicelib.members.models import ActivityDay, Member, TagMember
from chalicelib.core.clock import SHANGHAI

BRAND_WIDE = "*"
RECENT_BUYER, DORMANT, TOP_SPENDER = "recent_buyer", "dormant_90d", "top_spender"
COMPUTED = {
    RECENT_BUYER: "ordered in the last 30 days",
    DORMANT: "no order for 90 days",
    TOP_SPENDER: "paid 5,000 yuan or more in all",
}
RECENT_DAYS, DORMANT_DAYS, TOP_SPENDER_FEN = 30, 90, 500_000
BATCH = 100  # members read in one BatchGet


def _scopes(member):
    return [BRAND_WIDE] + ([member.home_store_id] if member.home_store_id else [])


def _index(member, tag, now):
    for scope in _scopes(member):
        TagMember(f"{tag}@{scope}", member.member_id, tagged_at=now).save()


def _unindex(member, tag):
    for scope in _scopes(member):
        TagMember(f"{tag}@{scope}", member.member_id).delete()


def add_tags(member, new_tags, clock=system_clock):
    now = clock.now()
    for tag in new_tags:
        _index(member, tag, now)
    member.update(actions=[Member.tags.add(set(new_tags))])


def remove_tags(member, old_tags):
    for tag in old_tags:
        _unindex(member, tag)
    member.update(actions=[Member.tags.delete(set(old_tags))])


def add_manual_tag(member, tag, clock=system_clock):
    if tag in COMPUTED:
        raise DomainError("validation_error", f"{tag} is computed from orders; it cannot be set.")
    add_tags(member, [tag], clock)


def remove_manual_tag(member, tag):
    if tag in COMPUTED:
        raise DomainError("validation_error", f"{tag} is computed from orders; it cannot be removed.")
    remove_tags(member, [tag])


def shanghai_day(moment):
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d")


def order_counted(paid_fen, now):
    """A paid order's counters on the member, as actions: loyalty writes them with the order's
    growth, so they count once."""
    return [Member.orders_count.add(1), Member.paid_total_fen.add(paid_fen),
            Member.last_order_at.set(now)]


def record_order(member_id, order_id, paid_fen, clock=system_clock):
    """A paid order: the member's order counters, its activity day and the tags they imply."""
    Member(member_id).update(actions=order_counted(paid_fen, clock.now()))
    record_activity(member_id, clock)


def record_activity(member_id, clock=system_clock):
    """The day of the member's last order and the tags their orders imply (safe to repeat)."""
    member = Member.get(member_id, consistent_read=True)
    if member.last_order_at is None:
        return
    day = ActivityDay(shanghai_day(member.last_order_at), member_id)
    if not _exists(day):  # one write a member a day, however many orders
        day.save()
    current = member.tags or set()
    gained = {RECENT_BUYER} | ({TOP_SPENDER} if member.paid_total_fen >= TOP_SPENDER_FEN else set())
    if gained - current:
        add_tags(member, gained - current, clock)
    if DORMANT in current:
        remove_tags(member, [DORMANT])


def _exists(item):
    try:
        item.refresh()
        return True
    except DoesNotExist:
        return False


def last_ordered_on(day):
    """Members whose last order fell on the day (YYYY-MM-DD, Asia/Shanghai) and who have not
    ordered since: the day's partition of ActivityDay, and a BatchGet of each 100 of them.
    Records merged into another member are left out (they live on in that member)."""
    def still_that_day(member_ids):
        for member in Member.batch_get(member_ids):
            if member.merged_into or member.last_order_at is None:
                continue
            if shanghai_day(member.last_order_at) == day:
                yield member

    member_ids = []
    for activity in ActivityDay.query(day):
        member_ids.append(activity.member_id)
        if len(member_ids) == BATCH:
            yield from still_that_day(member_ids)
            member_ids = []
    if member_ids:
        yield from still_that_day(member_ids)


def refresh_computed_tags(today, clock=system_clock):
    """The daily job: members whose last order was exactly 30 days ago stop being recent
    buyers; exactly 90 days ago become dormant. It reads those two days' members only."""
    changed = 0
    for days, stale, fresh in ((RECENT_DAYS, RECENT_BUYER, None), (DORMANT_DAYS, None, DORMANT)):
        for member in last_ordered_on((today - timedelta(days=days)).isoformat()):
            current = member.tags or set()
            if stale and stale in current:
                remove_tags(member, [stale])
                changed += 1
            if fresh and fresh not in current:
                add_tags(member, [fresh], clock)
                changed += 1
    return changed


def segment(tags, store_id=None, limit=50, cursor=None):
    """Members carrying every tag (in one home store, or brand-wide): one page of ids."""
    from chalicelib.core.pagination import query_page

    scope = store_id or BRAND_WIDE
    first, others = tags[0], tags[1:]
    found = query_page(TagMember, f"{first}@{scope}", lambda item: item.member_id, "member_ids",
                       limit=limit, cursor=cursor)
    for tag in others:
        keys = [(f"{tag}@{scope}", member_id) for member_id in found["member_ids"]]
        having = {item.member_id for item in TagMember.batch_get(keys)} if keys else set()
        found["member_ids"] = [m for m in found["member_ids"] if m in having]
    return found
