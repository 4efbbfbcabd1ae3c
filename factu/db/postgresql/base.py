"""Django's PostgreSQL backend, with a connection health check that costs no round trip.

Django checks a persistent connection before its first use in each request
(``CONN_HEALTH_CHECKS``) by running ``SELECT 1``: one more round trip on every request, the
cheapest of which (an authenticated ping) needs only two. An idle connection the server
has dropped — restarted, ``pg_terminate_backend``, an idle timeout — has told the client
so: the server sends its FATAL error and closes the socket, which makes the socket
readable. An idle connection has nothing to read otherwise (nothing here listens for
notifications), so a readable socket — like a connection psycopg already knows is broken,
or a transaction left aborted — means "reconnect"; anything else is used as it is. At
worst a reconnection is made that was not needed (after an unsolicited notice), never a
dead connection kept.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from psycopg import pq

_IDLE_STATES = (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS)


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        pgconn = connection.pgconn
        if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status not in _IDLE_STATES:
            return False
        try:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        except (OSError, ValueError, connection.Error):  # no socket: the connection is gone
            return False
