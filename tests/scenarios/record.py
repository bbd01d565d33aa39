"""Running one scenario into a recording: the server's identity, the events, the marks.

A recording is a JSON object: `scenario`, `description`, `server` (`version` from `GET /`,
`commit` as given, `kind` real/simulator, never the key), `recorded_at`, `marks`, `events`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.scenarios.catalog import SCENARIOS
from tests.scenarios.runner import Recorder

RECORDINGS = Path(__file__).resolve().parents[1] / "data" / "real-v1.8"


async def run_scenario(name: str, url: str, key: str, *, restart_cmd: str | None = None,
                       sim_control: bool = False, commit: str = "") -> dict[str, Any]:
    fn, description = SCENARIOS[name]
    rec = Recorder(url, key, restart_cmd=restart_cmd, sim_control=sim_control)
    started = time.monotonic()
    try:
        root = await rec.root()
        await fn(rec)
    finally:
        await rec.aclose()
    return {
        "scenario": name,
        "description": description,
        "server": {"version": root.get("version"), "commit": commit,
                   "kind": "simulator" if sim_control else "real"},
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - started, 1),
        "marks": rec.marks,
        "events": rec.events,
    }
