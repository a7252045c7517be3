"""Guides' (and stores') task lists: members to contact in person."""
from pynamodb.exceptions import UpdateError

from chalicelib.core.clock import clock as system_clock
from chalicelib.core.pagination import query_page
from chalicelib.errors import DomainError
from chalicelib.members.privacy import phone_seen_by
from chalicelib.reactivation.models import Task


def owner_of(guide_id, store_id):
    if guide_id:
        return f"guide#{guide_id}"
    return f"store#{store_id}" if store_id else None


def task_view(task, viewer):
    return {"task_id": task.task_id, "kind": task.kind, "member_id": task.member_id,
            "member_name": task.member_name, "phone": phone_seen_by(viewer, task.phone),
            "store_id": task.store_id, "guide_id": task.guide_id,
            "member_coupon_id": task.member_coupon_id,
            "note": task.note, "status": task.status, "created_at": task.created_at.isoformat(),
            "done_at": task.done_at.isoformat() if task.done_at else None}


def listed(owner, viewer, limit=20, cursor=None):
    """One page of the owner's tasks, newest first, as the viewer (a staff record) sees them."""
    return query_page(Task, owner, lambda task: task_view(task, viewer), "tasks", limit=limit,
                      cursor=cursor, scan_index_forward=False)


def mark_done(owner, task_id, by, clock=system_clock):
    """The task done by `by` (a staff record)."""
    task = Task(owner, task_id)
    try:
        task.update(actions=[Task.status.set("done"), Task.done_at.set(clock.now()),
                             Task.done_by.set(by.member_id)],
                    condition=Task.task_id.exists())
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise DomainError("not_found", f"No task {task_id} on this list.") from None
        raise
    return task_view(task, by)
