"""Request validation against JSON Schema: the same schemas the OpenAPI document publishes.

Two rules are stricter than the libraries underneath, for every route at once:
- an integer is a JSON integer. Since draft 6 JSON Schema counts 1.0 as an integer, and
  fastjsonschema takes any integral float: `1.0`, `1e2` and `-0.0` would reach money as
  floats. Python's json module parses exactly the numbers written without a fraction or an
  exponent as int; the validator here takes only those (and never a bool).
- a body is JSON text: no NaN or Infinity, no lone surrogates, and nested at most
  MAX_JSON_DEPTH levels (no request needs more than five; deeper nesting would exhaust the
  recursion of the parser or of the validator's uniqueItems check).
"""
import json

from chalicelib.errors import DomainError

MAX_JSON_DEPTH = 32  # arrays and objects inside each other, the body itself counting as one
_NOT_JSON = "The body is not valid JSON text."
_TOO_DEEP = f"The body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels."

_compiled = {}


def _compile(schema):
    from fastjsonschema.draft04 import CodeGeneratorDraft04
    from fastjsonschema.draft2019 import CodeGeneratorDraft2019
    from fastjsonschema.ref_resolver import RefResolver

    class JsonIntegers(CodeGeneratorDraft2019):
        # Draft 4's type check: "integer" is an int, not an integral float.
        generate_type = CodeGeneratorDraft04.generate_type

    # What fastjsonschema.compile does, with the generator above.
    resolver = RefResolver.from_schema(schema, handlers={}, store={})
    generator = JsonIntegers(schema, resolver=resolver)
    global_state = generator.global_state
    exec(generator.func_code, global_state)  # noqa: S102 (code generated from our schemas)
    return global_state[resolver.get_scope_name()]


def _validator(schema):
    key = id(schema)
    if key not in _compiled:
        _compiled[key] = _compile(schema)
    return _compiled[key]


def validate(schema, value, where):
    import fastjsonschema

    try:
        return _validator(schema)(value)
    except fastjsonschema.JsonSchemaValueException as exc:
        message = exc.message.replace("data", where, 1)
        raise DomainError("validation_error", message) from None


def _not_json(constant):
    raise ValueError(f"{constant} is not a JSON number")


def _depth(value):
    """How deeply arrays and objects nest in a parsed body, without recursing; it stops
    counting past MAX_JSON_DEPTH."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        stack.extend((item, depth + 1) for item in value)
    return deepest


def parse_json_body(raw_body):
    if not raw_body:
        raise DomainError("validation_error", "A JSON body is required.")
    try:
        body = json.loads(raw_body, parse_constant=_not_json)
    except RecursionError:  # nested beyond the parser's own stack
        raise DomainError("invalid_json", _TOO_DEEP) from None
    except ValueError:
        raise DomainError("invalid_json", _NOT_JSON) from None
    if _depth(body) > MAX_JSON_DEPTH:
        raise DomainError("invalid_json", _TOO_DEEP)
    try:
        # JSON escapes can spell lone surrogates, which are not text and break every encoder.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeError:
        raise DomainError("invalid_json", _NOT_JSON) from None
    return body
