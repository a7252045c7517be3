"""The request and response shapes the endpoint functions work with, free of http.server."""
import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"


class BadRequest(Exception):
    pass


@dataclass
class Request:
    method: str
    path: str
    query: dict
    body: bytes = b""
    path_params: dict = field(default_factory=dict)

    @classmethod
    def from_raw(cls, method, raw_path, body):
        parts = urlsplit(raw_path)
        query = {name: values[0] for name, values in
                 parse_qs(parts.query, keep_blank_values=True).items()}
        # The path stays percent-encoded so that an encoded "/" inside an id cannot split it;
        # the router decodes each captured path parameter.
        return cls(method=method, path=parts.path, query=query, body=body)

    def json(self, required=True):
        if not self.body.strip():
            if required:
                raise BadRequest("a JSON body is required")
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object")
        return data


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes


def json_response(data, status=200):
    return Response(status, JSON_TYPE, json.dumps(data, ensure_ascii=False).encode("utf-8"))


def wechat_error(errcode, errmsg):
    """WeChat's JSON APIs report errors with HTTP 200 and an errcode."""
    return json_response({"errcode": errcode, "errmsg": errmsg})


def xml_response(text):
    return Response(200, XML_TYPE, text.encode("utf-8"))
