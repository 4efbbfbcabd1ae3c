"""A small HTTP/1.1 load client (asyncio, raw sockets): the bench's load, in its own process.

``concurrency`` connections each send one request at a time until ``requests`` have been
sent or ``duration`` seconds have passed, whichever comes first. gunicorn's sync workers
close the connection after each response, so every request opens its own connection; the
latency counts from the connect to the last byte of the response. In ``--body`` the text
``@@N@@`` becomes a number unique to the request (invoice numbers must be unique).
The bearer token comes from ``BENCH_TOKEN``; with ``--clients FILE`` (a JSON list of
``[token, body]`` pairs) connection *i* always sends pair *i* modulo the list's length
instead, so that each client can post as its own tenant. Prints one JSON line:
``{"sent", "ok", "statuses", "elapsed", "rps", "p50_ms", "p95_ms", "p99_ms", "sample"}``
(and ``latencies_ms`` with ``--latencies``).

    BENCH_TOKEN=kf_... python bench/load.py http://127.0.0.1:PORT/api/ping --method POST \\
        --body '{"note": "n@@N@@"}' --concurrency 8 --requests 2000 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import time
from urllib.parse import urlparse


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


async def one(host: str, port: int, head: bytes, body: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(head + body)
        await writer.drain()
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        length = None
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        payload = await (reader.readexactly(length) if length is not None else reader.read())
        return status, payload
    finally:
        writer.close()


async def run(args: argparse.Namespace) -> dict:
    url = urlparse(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    target = url.path + (f"?{url.query}" if url.query else "")
    token = os.environ.get("BENCH_TOKEN", "")
    clients = [(token, args.body)]
    if args.clients:
        with open(args.clients) as fh:
            clients = [(str(t), str(b)) for t, b in json.load(fh)]
    counter = itertools.count(1)
    prefix = f"{time.time_ns() % 10**9:09d}"
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    sample: dict[str, str] = {}

    def request(client: int = 0) -> tuple[bytes, bytes]:
        n = next(counter)
        token, template = clients[client % len(clients)]
        body = template.replace("@@N@@", f"{prefix}{n:07d}").encode()
        head = (
            f"{args.method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: application/json\r\n"
            "Connection: close\r\n"
        )
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return (head + "\r\n").encode(), body

    for i in range(args.warmup):
        await one(host, port, *request(i))

    sent = 0
    start = time.perf_counter()
    deadline = start + args.duration

    async def worker(client: int) -> None:
        nonlocal sent
        while sent < args.requests and time.perf_counter() < deadline:
            sent += 1
            head, body = request(client)
            t0 = time.perf_counter()
            try:
                status, payload = await one(host, port, head, body)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                key = type(exc).__name__
                statuses[key] = statuses.get(key, 0) + 1
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if status >= 300 and str(status) not in sample:
                sample[str(status)] = payload[:500].decode(errors="replace")

    await asyncio.gather(*(worker(i) for i in range(args.concurrency)))
    elapsed = time.perf_counter() - start
    ok = sum(n for s, n in statuses.items() if s.isdigit() and 200 <= int(s) < 300)
    return {
        "sent": sent,
        "ok": ok,
        "statuses": statuses,
        "elapsed": round(elapsed, 3),
        "rps": round(ok / elapsed, 2) if elapsed else 0.0,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "sample": sample,
        **({"latencies_ms": [round(v, 3) for v in latencies]} if args.latencies else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--clients", default="", help="JSON file of [token, body] pairs")
    parser.add_argument("--latencies", action="store_true", help="add every latency")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
