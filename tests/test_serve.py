"""``make run`` on a fresh data folder: install, migrate, seed_demo, then serve.

Runs on the embedded defaults (SQLite, filesystem broker, file cache) whatever the suite
itself uses, because that is what a newcomer gets.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.processes import ROOT, free_port, wait_for_http, wait_until

pytestmark = pytest.mark.slow


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")
    }
    env.update(FACTU_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    return env


def processes_matching(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                pids.append(int(entry.name))
    return pids


def login(session: requests.Session, base: str) -> requests.Response:
    page = session.get(f"{base}/entrar/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        f"{base}/entrar/",
        data={"username": "demo@factu.test", "password": "demo", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/entrar/"},
    )


def _run(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    """``make run`` on ``port``, once it serves or has died (the caller checks which)."""
    with open(log_path, "ab") as log:
        server = subprocess.Popen(
            ["make", "run", f"PORT={port}", f"PYTHON={sys.executable}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/entrar/"
    wait_until(
        lambda: server.poll() is not None or _answers(url), timeout=120, what="serving or dying"
    )
    return server


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _ctrl_c(server: subprocess.Popen) -> None:
    """What Ctrl-C in the terminal does."""
    with contextlib.suppress(ProcessLookupError):  # make may have died on its own
        os.killpg(server.pid, signal.SIGINT)
    server.wait(timeout=30)


def test_make_run_serves_the_product_and_ctrl_c_stops_everything(tmp_path):
    env = embedded_env(tmp_path)
    port = free_port()
    env["SIMULATOR_PORT"] = str(free_port())
    base = f"http://127.0.0.1:{port}"
    server = _run(env, port, tmp_path / "serve.log")
    try:
        assert wait_for_http(f"{base}/entrar/", timeout=120).status_code == 200
        session = requests.Session()
        home = login(session, base)
        assert home.url.endswith("/cuentas/")
        assert "Gestoría Ebro" in home.text and "Lucía Martín (autónoma)" in home.text

        dashboard = f"{base}/c/demo-gestoria/"
        page = session.get(dashboard)
        options = re.findall(r'<option value="([0-9a-f-]{36})"', page.text)
        assert len(options) == 3
        token = session.cookies["csrftoken"]
        chosen = options[2]
        session.post(
            f"{base}/c/demo-gestoria/cambiar-contribuyente/",
            data={"taxpayer": chosen, "csrfmiddlewaretoken": token},
            headers={"Referer": dashboard},
        )
        page = session.get(dashboard)
        assert f'<option value="{chosen}" selected>' in page.text

        # The worker announced itself through the embedded broker, so no warning shows.
        wait_until(
            lambda: "no se enviarán a la AEAT" not in session.get(dashboard).text,
            timeout=60,
            what="worker heartbeat on the dashboard",
        )
        assert processes_matching(f"worker-{port}@")
        simulator = f"http://127.0.0.1:{env['SIMULATOR_PORT']}/_control/state"
        # The demo's issued invoices (4 per taxpayer, one of them annulled) reach the AEAT
        # simulator through the worker and the embedded broker.
        try:
            wait_until(
                lambda: len(requests.get(simulator, timeout=5).json()["records"]) == 16,
                timeout=90,
                what="demo records accepted by the simulator",
            )
        except TimeoutError:
            log = (tmp_path / "serve.log").read_text(errors="replace")
            pytest.fail(f"demo records not accepted by the simulator in 90 s:\n{log[-6000:]}")
        states = {r["estado"] for r in requests.get(simulator, timeout=5).json()["records"]}
        assert states == {"Correcto", "Anulado"}
    finally:
        _ctrl_c(server)
    output = (tmp_path / "serve.log").read_text(errors="replace")
    assert "Login: demo@factu.test / demo" in output
    assert "Stopped." in output, output[-3000:]
    wait_until(lambda: not processes_matching(f"worker-{port}@"), timeout=20, what="worker exit")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/entrar/", timeout=2)


def _register_a_new_taxpayer_through_the_api(base: str, env: dict[str, str]) -> None:
    """What an integrator does with a demo account: a taxpayer of its own, its computer
    system and an invoice dated today."""
    from datetime import date

    token = subprocess.run(
        [sys.executable, "manage.py", "create_api_token", "--email", "demo@factu.test"]
        + ["--account", "demo-gestoria"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    taxpayer = api.post(
        f"{base}/api/v1/taxpayers", json={"nif": "B12345674", "name": "Añadida por API SL"}
    )
    assert taxpayer.status_code == 201, taxpayer.text
    system = api.post(
        f"{base}/api/v1/computer-systems",
        json={
            "producer_name": "Integrador SL",
            "producer_nif": "B87654323",
            "name": "Integrador",
            "system_id": "IN",
            "version": "1.0",
            "installation_number": "integrador-1",
        },
    )
    assert system.status_code == 201, system.text
    line = {
        "operation_type": "S1",
        "base_amount": "100.00",
        "tax_rate": "21.00",
        "tax_amount": "21.00",
    }
    invoice = api.post(
        f"{base}/api/v1/invoices",
        json={
            "taxpayer_id": taxpayer.json()["data"]["id"],
            "computer_system_id": system.json()["data"]["id"],
            "invoice_number": "API-1",
            "invoice_date": date.today().isoformat(),
            "invoice_type": "F1",
            "description": "Servicio",
            "regime_types": ["01"],
            "recipient_nif": "A28045631",
            "recipient_name": "Cliente SA",
            "breakdown": [line],
            "total_amount": "121.00",
            "total_tax_amount": "21.00",
        },
    )
    assert invoice.status_code == 201, invoice.text


def test_make_run_starts_again_after_a_taxpayer_was_added_to_a_demo_account(tmp_path):
    """``make run`` seeds the demo at every start: a taxpayer added through /api/v1, with an
    invoice registered today, must not make the next start die in ``seed_demo``."""
    env = embedded_env(tmp_path)
    env["SIMULATOR_PORT"] = str(free_port())
    log_path = tmp_path / "serve.log"
    for start in (1, 2):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = _run(env, port, log_path)
        try:
            assert server.poll() is None, log_path.read_text(errors="replace")[-3000:]
            assert requests.get(f"{base}/entrar/", timeout=5).status_code == 200
            if start == 1:
                _register_a_new_taxpayer_through_the_api(base, env)
        finally:
            _ctrl_c(server)
    output = log_path.read_text(errors="replace")
    assert output.count("Login: demo@factu.test / demo") == 2, output[-3000:]
    assert output.count("Stopped.") == 2, output[-3000:]
