"""Yutang: one brand's mini-program retail backend. Routes live in the blueprints below;
everything heavy is imported when a handler first needs it, to keep cold starts short.
"""
from chalice import Chalice

import chalicelib.wiring  # noqa: F401 (registers the channels and the events' subscribers)

from chalicelib.api.catalog import bp as catalog_bp
from chalicelib.api.checkout import bp as checkout_bp
from chalicelib.api.flash import bp as flash_bp
from chalicelib.api.groups import bp as groups_bp
from chalicelib.api.routing import request_middleware
from chalicelib.api.guides import bp as guides_bp
from chalicelib.api.live import bp as live_bp
from chalicelib.jobs.schedules import bp as schedules_bp
from chalicelib.jobs.streams import bp as streams_bp
from chalicelib.api.members import bp as members_bp
from chalicelib.api.reactivation import bp as reactivation_bp
from chalicelib.api.reports import bp as reports_bp
from chalicelib.api.notify import bp as notify_bp
from chalicelib.api.system import bp as system_bp

app = Chalice(app_name="yutang")
app.register_middleware(request_middleware, "http")
app.register_blueprint(system_bp)
app.register_blueprint(members_bp)
app.register_blueprint(catalog_bp)
app.register_blueprint(guides_bp)
app.register_blueprint(checkout_bp)
app.register_blueprint(flash_bp)
app.register_blueprint(groups_bp)
app.register_blueprint(live_bp)
app.register_blueprint(notify_bp)
app.register_blueprint(reactivation_bp)
app.register_blueprint(reports_bp)
app.register_blueprint(schedules_bp)
app.register_blueprint(streams_bp)
