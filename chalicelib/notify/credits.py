"""Send credits: WeChat's one-time subscriptions. Each template a member accepts in
`wx.requestSubscribeMessage` lets us send them one message of it; a send spends one. Every
change is one atomic update (ADD), so concurrent acceptances and sends never lose a count."""
from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError
from chalicelib.notify.events import EVENTS, event_of_template
from chalicelib.notify.models import SendCredit


def known_templates():
    return {event.template_id: name for name, event in EVENTS.items()}


def accept(member_id, template_ids, clock=system_clock):
    """The member accepted these templates (each one once per report): one credit each.
    Unknown templates are refused before anything is counted. Returns the credits view."""
    known = known_templates()
    unknown = sorted({t for t in template_ids if t not in known})
    if unknown:
        raise DomainError("validation_error",
                          f"Unknown subscribe-message templates: {', '.join(unknown)}.")
    now = clock.now()
    held = {}
    for template_id in dict.fromkeys(template_ids):  # once each, in order
        credit = SendCredit(member_id, template_id)
        credit.update(actions=[SendCredit.credits.add(1), SendCredit.accepted.add(1),
                               SendCredit.last_accepted_at.set(now)])
        held[template_id] = credit.credits
    return {"credits": [{"template_id": t, "event": known[t], "credits": n}
                        for t, n in held.items()]}


def credits_of(member_id, template_id):
    try:
        return SendCredit.get(member_id, template_id, consistent_read=True).credits or 0
    except DoesNotExist:
        return 0


def holding_credits(member_ids):
    """The members among these who may be sent a message of some template (one Query each,
    a page of their few templates)."""
    return {member_id for member_id in member_ids
            if any(credit.credits >= 1 for credit in SendCredit.query(member_id))}


def has_credit(member_id, event):
    """Whether one message of the event's template may be sent to the member now."""
    return credits_of(member_id, EVENTS[event].template_id) >= 1


def spend(member_id, template_id):
    """Takes one credit if there is one (a conditional decrement). False if there was none."""
    try:
        SendCredit(member_id, template_id).update(
            actions=[SendCredit.credits.add(-1)], condition=SendCredit.credits >= 1)
        return True
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise


def give_back(member_id, template_id):
    """The message did not go (WeChat unreachable, or it refused the data): the credit is
    the member's again."""
    SendCredit(member_id, template_id).update(actions=[SendCredit.credits.add(1)])


def forget(member_id, template_id):
    """WeChat says the member has no quota for the template (43101): none left, whatever we
    counted."""
    SendCredit(member_id, template_id).update(actions=[SendCredit.credits.set(0)])


__all__ = ["accept", "has_credit", "credits_of", "spend", "give_back", "forget",
           "known_templates", "event_of_template"]
