"""Every route in the OpenAPI document, fuzzed from its own schemas against the app served
over HTTP, with and without a valid token: never a 5xx, and every 4xx in the error shape.
A route added later is fuzzed here without anyone remembering to."""
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance)


@schemathesis.check
def refusals_have_the_error_shape(ctx, response, case):
    if 400 <= response.status_code < 500:
        error = response.json().get("error")
        assert isinstance(error, dict), f"4xx without an error object: {response.text[:200]}"
        assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str)


@schemathesis.check
def no_server_error(ctx, response, case):
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"


CHECKS = [no_server_error, refusals_have_the_error_shape, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(served_app):
    return schemathesis.openapi.from_url(f"{served_app}/openapi.json")


@pytest.fixture(scope="module")
def valid_token(served_app):
    import requests

    answer = requests.post(f"{served_app}/auth/login", timeout=10,
                           data=json.dumps({"code": "sandbox:fuzz-member:1"}),
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def _another_session(access_token):
    """A second session of the same member, for the route that ends the one it is sent."""
    from chalicelib.core import tokens
    from chalicelib.members import sessions

    return sessions.start(tokens.verify(access_token, tokens.ACCESS)["sub"])["access_token"]


schema = schemathesis.pytest.from_fixture("api_schema")
# Without a token every protected route answers 401 before reading its input: a few examples
# prove it. With one, the input is what is fuzzed.
AT_THE_DOOR = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@AT_THE_DOOR
def test_fuzz_without_a_token(case):
    case.headers = {key: value for key, value in (case.headers or {}).items()
                    if key.lower() != "authorization"}
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_fuzz_with_a_valid_token(case, valid_token):
    token = _another_session(valid_token) if case.operation.path == "/auth/logout" \
        else valid_token
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    case.call_and_validate(checks=CHECKS)
