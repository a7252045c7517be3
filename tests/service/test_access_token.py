"""The access token every container shares, against the sandbox, which issues tokens as WeChat
does: a new one leaves the old 5 minutes, 2000 fetches a day, 40001 for a token it no longer
takes."""
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from chalicelib.core.clock import FixedClock
from chalicelib.errors import DomainError


class Sandbox:
    def __init__(self, url):
        self.url = url

    def control(self, path, body):
        response = requests.post(f"{self.url}/__sandbox__/{path}", json=body, timeout=5)
        assert response.status_code == 200, response.text

    def tokens_issued(self):
        return requests.get(f"{self.url}/__sandbox__/stats", timeout=5).json()[
            "access_tokens_issued"]

    def fetch_token_elsewhere(self):
        """A token fetched by another tool of the same app: ours then has 5 minutes to live."""
        from chalicelib.config import settings

        answer = requests.get(f"{self.url}/cgi-bin/token", timeout=5, params={
            "grant_type": "client_credential", "appid": settings.wechat_app_id,
            "secret": settings.wechat_app_secret}).json()
        assert "access_token" in answer, answer
        return answer["access_token"]

    def takes(self, token):
        return requests.post(f"{self.url}/wxa/business/getuserphonenumber", timeout=5,
                             params={"access_token": token},
                             json={"code": f"sandbox-phone:13800138000:{uuid.uuid4().hex}"}
                             ).json()["errcode"] == 0


@pytest.fixture
def sandbox(sandbox_url):
    return Sandbox(sandbox_url)


def phone_code():
    return f"sandbox-phone:139{uuid.uuid4().int % 10**8:08d}:{uuid.uuid4().hex}"


def container():
    """A fresh adapter, as a new Lambda container has."""
    from chalicelib.config import settings
    from chalicelib.wechat.wechatpy_adapter import WeChatPyMiniProgram

    return WeChatPyMiniProgram(settings.wechat_app_id, lambda: settings.wechat_app_secret,
                               settings.wechat_api_base)


def shared_token(clock, key=None):
    """A container's view of the token stored under `key` (a new key of this test's own by
    default), on `clock`, fetched from the sandbox by the app's client."""
    from chalicelib.wechat.token_store import SharedAccessToken

    client = container().client
    return SharedAccessToken(key or f"test-{uuid.uuid4().hex}", client._fetched_token, clock)


def test_a_token_about_to_expire_is_refreshed_once_for_every_container(sandbox):
    clock = FixedClock(datetime.now(timezone.utc))  # DynamoDB's TTL follows the real one
    first = shared_token(clock)
    before = sandbox.tokens_issued()
    token = first.current()

    clock.advance(timedelta(seconds=7200 - 301))
    assert first.current() == token
    clock.advance(timedelta(seconds=2))
    renewed = first.current()
    second = shared_token(clock, first.key)  # another container

    assert renewed != token and second.current() == renewed
    assert sandbox.tokens_issued() - before == 2
    assert sandbox.takes(token) and sandbox.takes(renewed)  # WeChat's 5 minutes of overlap


def test_a_token_wechat_refused_is_replaced_once_however_many_containers_saw_it(sandbox):
    clock = FixedClock(datetime.now(timezone.utc))  # DynamoDB's TTL follows the real one
    first = shared_token(clock)
    dead = first.current()
    before = sandbox.tokens_issued()

    replaced = first.replace(dead)
    others = [shared_token(clock, first.key) for _ in range(3)]

    assert [other.replace(dead) for other in others] == [replaced] * 3
    assert sandbox.tokens_issued() - before == 1


def lease_taken_elsewhere(shared, clock):
    """Another container takes the lease of `shared`'s token (and may never finish)."""
    from chalicelib.wechat.models import WeChatToken

    WeChatToken(shared.key).update(actions=[
        WeChatToken.lease_until.set(clock.now().timestamp() + 10),
        WeChatToken.lease_holder.set("another-container")])


def test_while_another_container_refreshes_the_expiring_token_still_serves(sandbox):
    clock = FixedClock(datetime.now(timezone.utc))
    shared = shared_token(clock)
    expiring = shared.current()
    clock.advance(timedelta(seconds=7200 - 60))
    lease_taken_elsewhere(shared, clock)
    before = sandbox.tokens_issued()

    assert shared.current() == expiring
    assert sandbox.tokens_issued() == before


def test_a_container_finding_the_lease_taken_waits_for_the_token_it_brings(sandbox):
    from chalicelib.wechat.models import WeChatToken

    clock = FixedClock(datetime.now(timezone.utc))
    shared = shared_token(clock)
    dead = shared.current()
    lease_taken_elsewhere(shared, clock)
    before = sandbox.tokens_issued()

    def other_container_stores_its_token():
        time.sleep(0.2)
        WeChatToken(shared.key).update(actions=[
            WeChatToken.value.set(sandbox.fetch_token_elsewhere()),
            WeChatToken.expires_at.set(clock.now() + timedelta(seconds=7200)),
            WeChatToken.lease_until.remove(), WeChatToken.lease_holder.remove()])

    other = threading.Thread(target=other_container_stores_its_token)
    other.start()
    replaced = shared.replace(dead)
    other.join()

    assert replaced == shared.current() != dead
    assert sandbox.tokens_issued() - before == 1  # the other container's


def test_a_refresher_that_died_holding_the_lease_holds_it_10_seconds(sandbox):
    clock = FixedClock(datetime.now(timezone.utc))
    shared = shared_token(clock)
    dead = shared.current()
    lease_taken_elsewhere(shared, clock)  # and its Lambda died
    before = sandbox.tokens_issued()

    clock.advance(timedelta(seconds=11))
    replaced = shared.replace(dead)

    assert replaced != dead and sandbox.tokens_issued() - before == 1
    assert shared.current() == replaced


def test_a_dead_token_is_refetched_once_per_call_and_the_call_then_fails(
        sandbox, wechat_faults):
    app = container()
    app.phone_number(phone_code())  # the shared token is in place
    before = sandbox.tokens_issued()
    wechat_faults.add("/wxa/business/getuserphonenumber", errcode=40001, times=3)

    with pytest.raises(DomainError) as refused:
        app.phone_number(phone_code())

    assert refused.value.code == "wechat_unavailable"
    assert sandbox.tokens_issued() - before == 1
    assert len(wechat_faults.pending()) == 1  # one of the three faults never met


def test_a_token_wechat_replaced_is_refetched_and_the_call_goes_through(sandbox):
    app = container()
    app.phone_number(phone_code())
    sandbox.fetch_token_elsewhere()
    sandbox.control("clock/advance", {"seconds": 301})

    assert app.phone_number(phone_code()).startswith("139")


def test_with_no_fetch_left_in_the_day_s_quota_calls_fail_until_there_is_one(sandbox):
    app = container()
    app.phone_number(phone_code())
    sandbox.fetch_token_elsewhere()
    sandbox.control("clock/advance", {"seconds": 301})
    sandbox.control("access_tokens/quota", {"used": 2000})
    try:
        for _ in range(2):
            with pytest.raises(DomainError) as refused:
                app.phone_number(phone_code())
            assert refused.value.code == "wechat_unavailable"
    finally:
        sandbox.control("access_tokens/quota", {"used": 0})
    assert app.phone_number(phone_code()).startswith("139")


WORKERS, CALLS, ROUNDS = 4, 5, 3


def go(workers):
    for worker in workers:
        worker.stdin.write(f"{CALLS}\n")
        worker.stdin.flush()


def expiring(minutes):
    """The shared token as if fetched long ago: it expires in `minutes`."""
    from chalicelib.config import settings
    from chalicelib.wechat.models import WeChatToken

    WeChatToken(f"{settings.wechat_app_id}_access_token").update(actions=[
        WeChatToken.expires_at.set(datetime.now(timezone.utc) + timedelta(minutes=minutes))])


def answer(worker):
    """The worker's next line that is not a log."""
    while (line := worker.stdout.readline()).startswith("{"):
        pass
    return line.strip()


def test_containers_in_their_own_processes_keep_one_valid_token_and_fetch_one_a_round(
        sandbox):
    """Each round another tool fetches a token and 5 minutes pass, so the one the containers
    share is dead; then all of them call WeChat at once. Last, the token they share is a
    minute from expiry when they call."""
    container().phone_number(phone_code())
    workers = [subprocess.Popen([sys.executable, "-m", "tests.service.token_worker"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for _ in range(WORKERS)]
    try:
        assert [answer(worker) for worker in workers] == ["ready"] * WORKERS
        before = sandbox.tokens_issued()
        for _ in range(ROUNDS):
            sandbox.fetch_token_elsewhere()
            sandbox.control("clock/advance", {"seconds": 301})
            go(workers)
            assert [answer(worker) for worker in workers] == ["done []"] * WORKERS
        assert sandbox.tokens_issued() - before == 2 * ROUNDS  # theirs and ours, each round

        expiring(minutes=1)
        go(workers)
        assert [answer(worker) for worker in workers] == ["done []"] * WORKERS
        assert sandbox.tokens_issued() - before == 2 * ROUNDS + 1
    finally:
        for worker in workers:
            worker.stdin.close()
            worker.wait(timeout=30)
