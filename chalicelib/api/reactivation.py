from chalice import Blueprint

from chalicelib.api.routing import ADMIN, Access, route, staff
from chalicelib.api.schemas import reactivation as schemas

bp = Blueprint(__name__)

GUIDE = Access("staff", ("guide",))  # a guide's own list
STORE_MANAGER = staff("store_manager", store_param="store_id")


@route(bp, "/admin/reactivation", auth=ADMIN, response=schemas.CONFIG,
       summary="Reactivation settings: when a member is dormant, the come-back coupon, the "
               "cooldown and the daily cap")
def reactivation_settings(call):
    from chalicelib.reactivation import settings

    return settings.current()


@route(bp, "/admin/reactivation", "PUT", auth=ADMIN, body=schemas.CONFIG,
       response=schemas.CONFIG, summary="Replace the reactivation settings")
def replace_reactivation_settings(call):
    from chalicelib.reactivation import settings

    return settings.replace(call.body, call.member_id)


@route(bp, "/admin/reactivation/report", auth=ADMIN, query=schemas.REPORT_QUERY,
       response=schemas.REPORT,
       summary="Dormant members found, contacted, reactivated and their GMV, by brand, store "
               "and guide (contacts and results on the contact's day)")
def reactivation_report(call):
    from chalicelib.reactivation import figures

    return figures.report(call.query["from"], call.query["to"])


def _page(call):
    return int(call.query.get("limit", 20)), call.query.get("cursor")


@route(bp, "/guides/me/tasks", auth=GUIDE, query=schemas.TASKS_QUERY, response=schemas.TASKS,
       summary="My task list: members to contact in person, newest first")
def my_tasks(call):
    from chalicelib.reactivation import tasks

    return tasks.listed(f"guide#{call.member_id}", call.staff, *_page(call))


@route(bp, "/guides/me/tasks/{task_id}/done", "POST", auth=GUIDE, response=schemas.TASK,
       summary="Mark one of my tasks done")
def my_task_done(call):
    from chalicelib.reactivation import tasks

    return tasks.mark_done(f"guide#{call.member_id}", call.params["task_id"], call.staff)


@route(bp, "/stores/{store_id}/tasks", auth=STORE_MANAGER, query=schemas.TASKS_QUERY,
       response=schemas.TASKS,
       summary="The store's tasks no guide holds (members with no guide), newest first")
def store_tasks(call):
    from chalicelib.reactivation import tasks

    return tasks.listed(f"store#{call.params['store_id']}", call.staff, *_page(call))


@route(bp, "/stores/{store_id}/tasks/{task_id}/done", "POST", auth=STORE_MANAGER,
       response=schemas.TASK, summary="Mark one of the store's tasks done")
def store_task_done(call):
    from chalicelib.reactivation import tasks

    return tasks.mark_done(f"store#{call.params['store_id']}", call.params["task_id"],
                           call.staff)
