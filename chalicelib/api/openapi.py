"""The OpenAPI 3 document, built from the route declarations (the schemas routes validate with)."""
from chalicelib.errors import STATUS_BY_CODE

ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

_ERROR_RESPONSE = {"$ref": "#/components/responses/Error"}


def _query_parameters(schema):
    required = set(schema.get("required", ()))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]


def _operation(spec):
    from chalicelib.api.routing import PUBLIC, VISITOR

    parameters = [{"name": name, "in": "path", "required": True, "schema": schema}
                  for name, schema in spec.path_schema["properties"].items()]
    if spec.query is not None:
        parameters += _query_parameters(spec.query)
    responses = {str(spec.status): {
        "description": "OK",
        "content": {spec.produces: {"schema": spec.response or {"type": "object"}},
                    **{kind: {"schema": {"type": "string"}} for kind in spec.downloads}},
    }}
    error_statuses = {STATUS_BY_CODE[code] for code in spec.error_codes} | {400}
    if spec.auth != PUBLIC:
        error_statuses |= {401, 404}
    if spec.auth.kind == "staff":
        error_statuses.add(403)
    if spec.path_params:
        error_statuses.add(404)
    for status in sorted(error_statuses):
        responses[str(status)] = _ERROR_RESPONSE
    responses["default"] = _ERROR_RESPONSE
    operation = {
        "operationId": f"{spec.method.lower()}_{spec.path.strip('/').replace('/', '_')}"
                       .replace("{", "").replace("}", "").replace(".", "_"),
        "summary": spec.summary,
        "tags": [spec.tag],
        "parameters": parameters,
        "responses": responses,
        "x-access": spec.auth.describe(),
    }
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {spec.content_type: {"schema": spec.body}},
        }
    operation["security"] = {PUBLIC: [], VISITOR: [{}, {"bearer": []}]}.get(
        spec.auth, [{"bearer": []}])
    return operation


def document(routes, title="Yutang", version="1"):
    paths = {}
    for spec in routes:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec)
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": version,
                 "description": "The API of one brand's Yutang stack."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR},
            "responses": {"Error": {"description": "The request was refused",
                                    "content": {"application/json": {"schema": ERROR}}}},
        },
    }
