"""create_app: health, OpenAPI, error bodies."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from proofdesk.api import create_app
from proofdesk.config import Settings
from proofdesk.db import migrate


def test_health_openapi_and_error_shape(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, environment="test")
    migrate(settings)
    with TestClient(create_app(settings)) as client:
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok", "database": "sqlite"}
        assert client.get("/openapi.json").json()["info"]["title"] == "Proofdesk"
        missing = client.get("/no/such/route")
        assert missing.status_code == 404
        assert missing.json() == {"error": {"code": "not_found", "message": "Not Found"}}
