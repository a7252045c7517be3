"""Members asking to be reminded of a flash sale; the window job sends the reminders."""
from pynamodb.exceptions import PutError

from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError
from chalicelib.promotions.flash.models import FlashReminder


def ask(member_id, sale_id, clock=system_clock):
    from chalicelib.members.reading import get_member
    from chalicelib.promotions.flash import sales

    sale = sales.get(sale_id)
    now = clock.now()
    if not sale.reminders:
        raise DomainError("validation_error", "This sale sends no reminders.")
    if now >= sale.starts_at:
        raise DomainError("flash_sale_over", "This sale has started: no reminder needed.")
    member = get_member(member_id)
    if not member.openid:
        raise DomainError("validation_error", "Sign in with WeChat to get reminders.")
    try:
        FlashReminder(sale_id, member_id, openid=member.openid, asked_at=now).save(
            condition=FlashReminder.member_id.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise  # else: asked before; one reminder
    return {"sale_id": sale_id, "reminder": True}
