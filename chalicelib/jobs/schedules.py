"""Every scheduled function of the app: each becomes its own Lambda on a schedule."""
from chalice import Blueprint, Cron, Rate

bp = Blueprint(__name__)


# 16:05 UTC is 00:05 in Shanghai: just after the shopper's day turns.
@bp.schedule(Cron(5, 16, "*", "*", "?", "*"), name="expire-points")
def expire_points(event):
    from chalicelib.members import jobs

    jobs.expire_points()


@bp.schedule(Cron(15, 16, "*", "*", "?", "*"), name="refresh-member-tags")
def refresh_member_tags(event):
    from chalicelib.members import jobs

    jobs.refresh_member_tags()


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="orders-minute")
def orders_minute(event):
    from chalicelib.orders import closing as lifecycle

    lifecycle.run_minute_job()


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="stock-takes-minute")
def stock_takes_minute(event):
    from chalicelib.orders import takes

    takes.run_job()


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="events")
def events(event):
    from chalicelib import wiring as subscribers

    subscribers.run_job()


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="refunds")
def refunds_follow_up(event):
    from chalicelib.orders import refunds

    refunds.follow_up()


# 16:30 UTC is 00:30 in Shanghai.
@bp.schedule(Cron(30, 16, "*", "*", "?", "*"), name="settle-commissions")
def settle_commissions(event):
    from chalicelib.guides import settlement

    settlement.run()


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="flash-sales-minute")
def flash_sales_minute(event):
    from chalicelib.promotions.flash import window

    window.run_job()


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="groups-minute")
def groups_minute(event):
    from chalicelib.promotions.groups import completion as life

    life.run_job()


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="live-sessions-minute")
def live_sessions_minute(event):
    from chalicelib.promotions.live import sessions

    sessions.run_job()


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="notifications")
def notifications(event):
    from chalicelib.notify import service

    service.run_job()


# 17:00 UTC is 01:00 in Shanghai.
@bp.schedule(Cron(0, 17, "*", "*", "?", "*"), name="reactivation")
def reactivation(event):
    from chalicelib.reactivation import job

    job.run_job()
