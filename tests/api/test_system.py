from tests.conftest import body_of


def test_health_reports_dynamodb_reachable(client):
    response = client.http.get("/health")

    assert response.status_code == 200
    assert body_of(response) == {"status": "ok", "dynamodb": "reachable"}


def test_health_is_503_when_dynamodb_is_down(client, monkeypatch):
    monkeypatch.setenv("TABLE_PREFIX", "no-such-tables-")

    response = client.http.get("/health")

    assert response.status_code == 503
    assert body_of(response)["error"]["code"] == "service_unavailable"


def test_openapi_documents_every_route(client):
    import app as yutang

    document = body_of(client.http.get("/openapi.json"))

    documented = {(path, method.upper()) for path, item in document["paths"].items()
                  for method in item}
    served = {(path, method) for path, entries in yutang.app.routes.items()
              for method in entries}
    assert documented == served
    login = document["paths"]["/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"]["required"] == ["code"]
    assert document["paths"]["/members/me"]["get"]["security"] == [{"bearer": []}]


def test_unknown_methods_get_the_error_shape(client):
    response = client.http.delete("/members/me")

    assert response.status_code == 405
    assert body_of(response)["error"]["code"] == "method_not_allowed"
