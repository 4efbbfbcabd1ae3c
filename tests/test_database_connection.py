"""The PostgreSQL connection health check (Django's, ``CONN_HEALTH_CHECKS``): a persistent
connection the server dropped, or left in an aborted transaction, is replaced."""

import select
import time

import pytest
from django.db import DataError, connection, connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def second_connection():
    """A connection of its own, which the test's connection can terminate."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _wait_until_readable(wrapper, timeout: float = 10.0) -> None:
    poller = select.poll()
    poller.register(wrapper.connection.pgconn.socket, select.POLLIN)
    deadline = time.monotonic() + timeout
    while not poller.poll(50):
        assert time.monotonic() < deadline, "the server never closed the connection"


def test_a_connection_the_server_terminated_is_replaced_before_the_next_query(
    second_connection,
):
    old_pid = second_connection.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [old_pid])
        assert cursor.fetchone() == (True,)
    _wait_until_readable(second_connection)

    assert second_connection.is_usable() is False
    second_connection.health_check_done = False  # as at the start of a request
    with second_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        new_pid = cursor.fetchone()[0]
    assert new_pid != old_pid


def test_a_connection_left_in_an_aborted_transaction_is_not_usable(second_connection):
    second_connection.set_autocommit(False)
    with (
        pytest.raises(DataError, match="division by zero"),
        second_connection.cursor() as cursor,
    ):
        cursor.execute("SELECT 1 / 0")
    assert second_connection.is_usable() is False
    second_connection.rollback()
    second_connection.set_autocommit(True)
    assert second_connection.is_usable() is True


def test_a_closed_connection_is_not_usable(second_connection):
    second_connection.connection.close()
    assert second_connection.is_usable() is False
