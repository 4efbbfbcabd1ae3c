"""``python -m verifactu.simulator --host 127.0.0.1 --port 8001 [...]``."""

from __future__ import annotations

import argparse
import signal
import sys

from .server import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verifactu.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument(
        "--wait-seconds",
        type=int,
        default=60,
        help="TiempoEsperaEnvio returned to clients (default 60)",
    )
    parser.add_argument("--tls-cert", help="server certificate (PEM); enables HTTPS")
    parser.add_argument("--tls-key", help="server private key (PEM)")
    parser.add_argument("--client-ca", help="CA (PEM) client certificates must chain to")
    parser.add_argument("--state-file", help="SQLite file keeping accepted records")
    parser.add_argument(
        "--signature-ca",
        help="CA (PEM) the signing certificates of NO VERI*FACTU records must chain to",
    )
    parser.add_argument("--verbose", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    if args.client_ca and not args.tls_cert:
        parser.error("--client-ca needs --tls-cert and --tls-key")
    sim = Simulator(
        args.host,
        args.port,
        wait_seconds=args.wait_seconds,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        client_ca=args.client_ca,
        state_file=args.state_file,
        signature_ca=args.signature_ca,
        verbose=args.verbose,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"AEAT simulator listening on {sim.url} (control: {sim.control_url})", flush=True)
    try:
        sim.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        sim.httpd.server_close()
        sim.state.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
