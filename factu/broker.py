"""kombu's Redis transport, with the crash of a worker on a lost broker connection fixed.

When Redis goes away while the worker holds unacknowledged messages (an ``acks_late`` task
running, or a flush scheduled with a countdown, which the worker keeps until it is due),
Celery 5.7 collects the broken connection and then closes it again. The first pass drops the
transport's reference to its connection; the second tries to put the unacknowledged messages
back in Redis, builds a client from that missing reference and raises ``AttributeError``. That
is not a connection error, so the worker stops for good ("Unrecoverable error") instead of
reconnecting when Redis is back.

Here that case raises the connection error it is (Redis is unreachable anyway, so nothing
could be restored), which Celery handles by reconnecting. The messages are not lost: Redis
redelivers its unacknowledged ones after the visibility timeout, and the beat task
``verifactu.reclaim_and_kick`` flushes every chain with pending records meanwhile.

Selected by ``CELERY_BROKER_TRANSPORT`` in the settings for ``redis://`` broker URLs.
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict:
        if self.connection.client is None:
            raise RedisConnectionError("The broker connection was already closed.")
        return super()._connparams(asynchronous=asynchronous)


class RedisTransport(kombu_redis.Transport):
    Channel = Channel
