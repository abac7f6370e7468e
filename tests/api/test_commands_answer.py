"""The accept's answer is serialised by its model directly (not re-validated by FastAPI): it must still be
exactly what the response model says, and the OpenAPI document must still name that model."""

from __future__ import annotations

from fastapi.testclient import TestClient
from podium_shared.operations.schemas import OperationOut

from api.fixtures import ApiUser
from api.helpers import scale


def test_the_answer_is_the_operation_model(client: TestClient, operator: ApiUser, cluster: str) -> None:
    r = client.post("/api/v1/commands", headers=operator.headers, json=scale(cluster))
    assert r.status_code == 202, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body == OperationOut.model_validate(body).model_dump(mode="json")
    assert (body["kind"], body["status"], body["requested_by"]) == ("scale", "queued", operator.username)
    again = client.get(f"/api/v1/operations/{body['id']}", headers=operator.headers)
    assert again.json() == body


def test_the_openapi_document_still_names_the_model(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    answer = spec["paths"]["/api/v1/commands"]["post"]["responses"]["202"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OperationOut"}
