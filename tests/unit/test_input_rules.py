"""The input rules every route shares: integers are JSON integers, bodies are shallow JSON."""
import pytest

from chalicelib.core.validation import MAX_JSON_DEPTH, parse_json_body, validate
from chalicelib.errors import DomainError

QUANTITY = {"type": "object", "properties": {"quantity": {"type": "integer"}},
            "required": ["quantity"]}


def _refusal(call, *args):
    with pytest.raises(DomainError) as refused:
        call(*args)
    return refused.value.code


@pytest.mark.parametrize("text", ["1.0", "1e0", "1E0", "1e2", "-0.0", "0.0", "1.5", "true",
                                  '"1"', "10000000000.000"])
def test_an_integer_is_a_json_integer(text):
    body = parse_json_body(f'{{"quantity": {text}}}'.encode())
    assert _refusal(validate, QUANTITY, body, "body") == "validation_error"


@pytest.mark.parametrize("text, value", [("1", 1), ("99", 99), ("1000000000000", 10**12)])
def test_integers_written_as_integers_pass(text, value):
    assert validate(QUANTITY, parse_json_body(f'{{"quantity": {text}}}'.encode()), "body") \
        == {"quantity": value}


def test_nullable_integers_and_numbers_keep_their_meaning():
    nullable = {"type": ["integer", "null"]}
    assert validate(nullable, None, "body") is None and validate(nullable, 3, "body") == 3
    assert _refusal(validate, nullable, 3.0, "body") == "validation_error"
    assert validate({"type": "number"}, 31.2, "body") == 31.2
    assert validate({"type": "number"}, 31, "body") == 31
    assert _refusal(validate, {"type": "number"}, True, "body") == "validation_error"


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(text):
    assert _refusal(parse_json_body, f'{{"lat": {text}}}'.encode()) == "invalid_json"


@pytest.mark.parametrize("body", [b"[" * 100_000, b"[" * 2_000 + b"]" * 2_000,
                                  b'{"a":' * 500 + b"1" + b"}" * 500,
                                  b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)],
                         ids=["100000 [", "2000 arrays", "500 objects", "one level too many"])
def test_deep_nesting_is_invalid_json(body):
    assert _refusal(parse_json_body, body) == "invalid_json"


def test_nesting_up_to_the_limit_is_fine():
    body = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert parse_json_body(body) is not None
    assert parse_json_body(b'{"a": [{"b": [1, 2]}, []]}') == {"a": [{"b": [1, 2]}, []]}
