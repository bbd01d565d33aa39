"""`evodash sim` (tui.simulator.cli.main) run in a subprocess: listening line, GET /, Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
KEY = "cli-secret-key-ABCD1234"


def test_sim_cli_runs_and_stops_cleanly_on_sigint():
    code = f"from tui.simulator.cli import main; raise SystemExit(main(['--port', '0', '--api-key', '{KEY}']))"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        found = re.fullmatch(r"Evolution v1\.8 simulator listening on (http://127\.0\.0\.1:\d+) \(api key (\S+)\)\n",
                             line)
        assert found, line
        assert found.group(2) == "****1234" and KEY not in line
        url = found.group(1)
        r = httpx.get(url + "/", timeout=5)
        assert r.status_code == 200 and r.json()["swagger"] == url + "/docs"
        assert httpx.get(url + "/instance/fetchInstances", headers={"apikey": KEY}, timeout=5).json() == []
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "Traceback" not in err and KEY not in out + err


def test_sim_cli_warns_for_non_loopback_host_and_reports_bind_errors():
    code = "from tui.simulator.cli import main; raise SystemExit(main(['--host', '203.0.113.7', '--port', '0']))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert "control API answers loopback peers only" in proc.stderr
    assert proc.returncode == 1 and "cannot listen on 203.0.113.7" in proc.stderr
    assert "Traceback" not in proc.stderr
