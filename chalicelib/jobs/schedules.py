"""Every scheduled function of the app: each becomes its own Lambda on a schedule."""
from chalice import Blueprint, Cron

bp = Blueprint(__name__)


# 16:05 UTC is 00:05 in Shanghai: just after the shopper's day turns.
@bp.schedule(Cron(5, 16, "*", "*", "?", "*"), name="expire-points")
def expire_points(event):
    from chalicelib.jobs import daily

    daily.expire_points()


@bp.schedule(Cron(15, 16, "*", "*", "?", "*"), name="refresh-member-tags")
def refresh_member_tags(event):
    from chalicelib.jobs import daily

    daily.refresh_member_tags()
