"""The access token every Lambda container shares, and its one refresher at a time.

WeChat keeps one access token of an app alive: each fetch leaves the token before it 5 minutes
to live, and an app may fetch 2000 a day. Containers fetching their own would invalidate each
other's tokens in a loop (wechatpy refetches on every 40001, without bound). So the token lives
in one DynamoDB item, and whoever finds it missing, about to expire, or refused by WeChat takes
the item's lease with a conditional write, fetches, and stores the new token. Everyone else
goes on with the old token while WeChat still takes it, or waits for the new one.

- REFRESH_BEFORE_S: a token with less than this left is refreshed, so that the old one is
  never used after WeChat's 7200 s (it keeps working 5 minutes after the refresh anyway).
- LEASE_S: a refresher that died (a Lambda timed out mid-fetch) frees the lease after this;
  it outlasts the fetch's own 5 s timeout.
"""
import time
import uuid
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, UpdateError
from wechatpy.exceptions import WeChatClientException

from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock
from chalicelib.wechat.models import WeChatToken

REFRESH_BEFORE_S = 300
LEASE_S = 10
POLL_S = 0.05


class TokenUnavailable(WeChatClientException):
    """Another container's refresh did not bring a token in time."""

    def __init__(self):
        super().__init__(None, "no access token: another refresh did not finish in time")


class SharedAccessToken:
    """`fetch()` asks WeChat for a token: (token, expires_in seconds)."""

    def __init__(self, key, fetch, clock=system_clock):
        self.key, self._fetch, self._clock = key, fetch, clock

    def current(self):
        """A token WeChat takes, as far as anyone here knows."""
        item = self._read()
        if item is not None and self._left_s(item) > REFRESH_BEFORE_S:
            return item.value
        if item is None:
            return self._refreshed(None, "missing")
        return self._refreshed(item.value, "expiring")

    def replace(self, dead):
        """A token other than `dead`, which WeChat refused (40001, 40014, 42001)."""
        return self._refreshed(dead, "refused")

    def _refreshed(self, stale, reason):
        """A token newer than `stale` (None: there is none), fetched here if this container
        takes the lease; else another's, or, while another container holds the lease,
        `stale` itself if it is expiring rather than refused."""
        deadline = time.monotonic() + LEASE_S + 1
        while True:
            holder = self._lease(stale)
            if holder:
                return self._fetched_and_stored(holder, reason)
            item = self._read()
            if item is not None and self._left_s(item) > 0 and (
                    item.value != stale or (reason == "expiring" and self._leased(item))):
                return item.value
            if time.monotonic() > deadline:
                raise TokenUnavailable()
            time.sleep(POLL_S)

    def _lease(self, stale):
        """A lease holder's id if this container may refresh `stale`, else None."""
        holder, now = uuid.uuid4().hex, self._clock.now().timestamp()
        still_stale = WeChatToken.value.does_not_exist()  # gone: none yet, or TTL removed it
        if stale is not None:
            still_stale |= WeChatToken.value == stale
        free = WeChatToken.lease_until.does_not_exist() | (WeChatToken.lease_until < now)
        try:
            WeChatToken(self.key).update(
                actions=[WeChatToken.lease_until.set(now + LEASE_S),
                         WeChatToken.lease_holder.set(holder)],
                condition=still_stale & free)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            return None
        return holder

    def _fetched_and_stored(self, holder, reason):
        holds = WeChatToken.lease_holder == holder
        try:
            token, expires_in = self._fetch()
        except Exception:
            self._update([WeChatToken.lease_until.remove(), WeChatToken.lease_holder.remove()],
                         holds)
            raise
        logs.keep_secret(token)
        expires_at = self._clock.now() + timedelta(seconds=int(expires_in))
        # A refresher slower than its lease lost it to another, whose token is newer: ours
        # then serves this one call (WeChat takes it 5 minutes more) and is not stored.
        self._update([WeChatToken.value.set(token), WeChatToken.expires_at.set(expires_at),
                      WeChatToken.lease_until.remove(), WeChatToken.lease_holder.remove()],
                     holds)
        logs.info("wechat_access_token_refreshed", reason=reason, expires_in=expires_in)
        return token

    def _update(self, actions, condition):
        try:
            WeChatToken(self.key).update(actions=actions, condition=condition)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def _read(self):
        """The stored token, or None when there is none."""
        try:
            item = WeChatToken.get(self.key, consistent_read=True)
        except DoesNotExist:
            return None
        return item if item.value else None

    def _leased(self, item):
        return item.lease_until is not None and item.lease_until >= self._clock.now().timestamp()

    def _left_s(self, item):
        # DynamoDB removes expired items lazily, so an item may outlive its TTL for a while.
        return (item.expires_at - self._clock.now()).total_seconds()
