"""Request validation against JSON Schema: the same schemas the OpenAPI document publishes."""
import json

from chalicelib.errors import DomainError

_compiled = {}


def _validator(schema):
    key = id(schema)
    if key not in _compiled:
        import fastjsonschema

        _compiled[key] = fastjsonschema.compile(schema)
    return _compiled[key]


def validate(schema, value, where):
    import fastjsonschema

    try:
        return _validator(schema)(value)
    except fastjsonschema.JsonSchemaValueException as exc:
        message = exc.message.replace("data", where, 1)
        raise DomainError("validation_error", message) from None


def parse_json_body(raw_body):
    if not raw_body:
        raise DomainError("validation_error", "A JSON body is required.")
    try:
        body = json.loads(raw_body)
        # JSON escapes can spell lone surrogates, which are not text and break every encoder.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
        return body
    except (ValueError, UnicodeError):
        raise DomainError("invalid_json", "The body is not valid JSON text.") from None
