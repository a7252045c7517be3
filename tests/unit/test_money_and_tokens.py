from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.core import tokens
from chalicelib.core.clock import FixedClock
from chalicelib.core.money import fen, yuan_text
from chalicelib.errors import DomainError


@pytest.mark.parametrize("amount, text", [(0, "0.00"), (1, "0.01"), (1234, "12.34"),
                                          (-250, "-2.50"), (100000, "1000.00")])
def test_amounts_read_as_yuan(amount, text):
    assert yuan_text(amount) == text


@pytest.mark.parametrize("not_fen", [1.5, "100", True, None])
def test_money_refuses_anything_but_whole_fen(not_fen):
    with pytest.raises(TypeError):
        fen(not_fen)


@pytest.fixture
def token_secret(monkeypatch):
    monkeypatch.setenv("TOKEN_SECRET", "unit-test-secret")


def test_a_token_is_good_until_it_expires(token_secret):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc))
    token = tokens.issue("m_1", tokens.ACCESS, 60, clock)

    assert tokens.verify(token, tokens.ACCESS, clock)["sub"] == "m_1"
    clock.advance(timedelta(seconds=60))
    with pytest.raises(DomainError) as refused:
        tokens.verify(token, tokens.ACCESS, clock)
    assert refused.value.code == "token_expired"


def test_a_token_signed_with_another_secret_is_refused(token_secret, monkeypatch):
    token = tokens.issue("m_1", tokens.ACCESS, 60)
    monkeypatch.setenv("TOKEN_SECRET", "another-secret")

    with pytest.raises(DomainError) as refused:
        tokens.verify(token, tokens.ACCESS)
    assert refused.value.code == "unauthorized"


def test_a_token_whose_payload_was_edited_is_refused(token_secret):
    import base64
    import json

    payload, signature = tokens.issue("m_1", tokens.ACCESS, 60).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "m_2"
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    with pytest.raises(DomainError):
        tokens.verify(f"{edited}.{signature}", tokens.ACCESS)
