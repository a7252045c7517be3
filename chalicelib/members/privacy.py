"""What staff may see of a member's phone: the one place that decides. Plain functions with no
imports, so that any view (a task list in a job's code) can use them for nothing.
"""


def masked_phone(phone):
    """138****5678: enough to recognise a member at the till, not to call or copy them."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def phone_seen_by(viewer, phone):
    """A member's phone as a staff member sees it: brand admins in full (they find members by
    phone), store staff (guides, clerks, managers) masked."""
    return phone if viewer.role == "admin" else masked_phone(phone)
