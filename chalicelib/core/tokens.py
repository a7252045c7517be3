"""Signed, expiring session tokens: `<payload>.<signature>`, both base64url.

The payload names the member, the token's kind (access or refresh) and its expiry; session
tokens also name their session family and, for a refresh token, the family's generation
(members/sessions.py keeps the families).
"""
import base64
import hashlib
import hmac
import json

from chalicelib.config import settings
from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError

ACCESS = "access"
REFRESH = "refresh"


def _b64encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload_text):
    key = settings.token_secret.encode()
    return _b64encode(hmac.new(key, payload_text.encode(), hashlib.sha256).digest())


def issue(member_id, kind, ttl_s, clock=system_clock, **more_claims):
    claims = {"sub": member_id, "kind": kind, "exp": clock.timestamp() + ttl_s, **more_claims}
    payload_text = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{payload_text}.{_signature(payload_text)}"


def verify(token, kind, clock=system_clock):
    """The claims of a genuine, unexpired token of this kind; DomainError otherwise."""
    payload_text, _, signature = token.partition(".")
    if not token.isascii() or not signature or not hmac.compare_digest(signature, _signature(payload_text)):
        raise DomainError("unauthorized", "The token is not valid.")
    try:
        claims = json.loads(_b64decode(payload_text))
    except ValueError:
        raise DomainError("unauthorized", "The token is not valid.") from None
    if claims.get("kind") != kind:
        raise DomainError("unauthorized", f"An {kind} token is needed here.")
    if claims["exp"] <= clock.timestamp():
        raise DomainError("token_expired", "The token has expired; refresh it or sign in again.")
    return claims


def session_tokens(member_id, family_id, generation, clock=system_clock):
    """What a client keeps after signing in: a short access token and a longer refresh token,
    both of one session family; the refresh token is good for this generation only."""
    return {
        "access_token": issue(member_id, ACCESS, settings.access_token_ttl_s, clock,
                              fam=family_id),
        "expires_in": settings.access_token_ttl_s,
        "refresh_token": issue(member_id, REFRESH, settings.refresh_token_ttl_s, clock,
                               fam=family_id, gen=generation),
    }
