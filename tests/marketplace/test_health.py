import pytest

from marketplace.celery import app as celery_app


def test_it_reports_the_process_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


@pytest.mark.django_db
def test_it_is_ready_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "checks": {"database": True, "broker": True}}


@pytest.mark.django_db
def test_it_is_not_ready_when_the_broker_is_down(client, monkeypatch):
    # Port 9 (discard) has no listener here: a real refused connection.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "broker": False}
