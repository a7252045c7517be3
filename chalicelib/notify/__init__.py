"""Subscribe messages (订阅消息): the member's consent as send credits, one notification
service for every event, a minute job that sends what is queued, and staff's view of what was
sent to a member and why.

    from chalicelib.notify import EVENTS, credits, service
"""
from chalicelib.notify.events import EVENTS

__all__ = ["EVENTS"]
