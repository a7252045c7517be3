"""wechatpy's session storage on DynamoDB.

wechatpy keeps the access token in process memory by default, so every Lambda container
would fetch its own (and each fetch can invalidate the others' tokens). Stored here, one
token serves all containers until it expires.
"""
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist
from wechatpy.session import SessionStorage

from chalicelib.core.clock import clock as system_clock
from chalicelib.wechat.models import WeChatToken


class DynamoDBTokenStore(SessionStorage):
    def __init__(self, clock=system_clock):
        self._clock = clock

    def get(self, key, default=None):
        try:
            item = WeChatToken.get(key, consistent_read=True)
        except DoesNotExist:
            return default
        # DynamoDB removes expired items lazily, so an item may outlive its TTL for a while.
        if item.expires_at is not None and item.expires_at <= self._clock.now():
            return default
        return item.value

    def set(self, key, value, ttl=None):
        expires_at = None
        if ttl:
            expires_at = self._clock.now() + timedelta(seconds=int(ttl))
        WeChatToken(key, value=value, expires_at=expires_at).save()

    def delete(self, key):
        WeChatToken(key).delete()
