"""Tasks are sent after the commit that asked for them, never for a rolled-back transaction,
and a broker failure never turns a committed request into an error (factu.queue)."""

from __future__ import annotations

import pytest
from celery import current_app, shared_task
from django.db import transaction

from factu.queue import enqueue_after_commit

SENT: list[tuple] = []


@shared_task(name="tests.queue.remember")
def remember(*args) -> None:
    SENT.append(args)


@pytest.fixture
def eager():
    SENT.clear()
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = False


@pytest.mark.django_db(transaction=True)
def test_a_task_is_sent_only_once_the_transaction_commits(eager):
    with transaction.atomic():
        enqueue_after_commit("tests.queue.remember", 1, "a")
        assert SENT == []
    assert SENT == [(1, "a")]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_nothing(eager):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_after_commit("tests.queue.remember", 2)
        raise RuntimeError("rolled back")
    assert SENT == []


@pytest.mark.django_db(transaction=True)
def test_a_broker_failure_after_commit_is_logged_not_raised(eager, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(remember, "apply_async", broken)
    with transaction.atomic():
        enqueue_after_commit("tests.queue.remember", 3)
    assert SENT == []
    assert "broker down" in caplog.text
