"""Running one scenario into a recording: the server's identity, the events, the marks.

A recording is a JSON object: `scenario`, `description`, `server` (`version` from `GET /`,
`commit` as given, `kind` real/simulator, `dialect` v1.8/v2, `client_name` (v2's
`clientName`, null on v1.8), `fresh_start` when the server was restarted empty right before;
never the key), `recorded_at`, `marks`, `events`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.scenarios.catalog import CATALOGS
from tests.scenarios.runner import Recorder, dialect_of

DATA = Path(__file__).resolve().parents[1] / "data"
RECORDINGS = DATA / "real-v1.8"
RECORDINGS_V2 = DATA / "real-v2.3"
RECORDING_DIRS = {"v1.8": RECORDINGS, "v2": RECORDINGS_V2}


async def run_scenario(name: str, url: str, key: str, *, restart_cmd: str | None = None,
                       sim_control: bool = False, commit: str = "",
                       dialect: str | None = None, fresh_cmd: str | None = None,
                       **v2_options: Any) -> dict[str, Any]:
    """Run scenario `name` of the server's dialect (given, or from `GET /` `version`).
    `fresh_cmd`: a command that restarts the server empty, run first (v2: the sockets of
    instances deleted by an earlier scenario go on reconnecting until a restart).
    `v2_options`: `other_url`, `other_start_cmd`, `other_stop_cmd`, `db_cmd`, `server_log`
    (see `Recorder`)."""
    rec = Recorder(url, key, restart_cmd=restart_cmd, sim_control=sim_control,
                   dialect=dialect or "v1.8", **v2_options)
    try:
        if fresh_cmd:
            await rec.run_cmd(fresh_cmd)
            await rec.wait_up()
            rec.reset_clock()
        started = time.monotonic()
        root = await rec.root()
        rec.dialect = dialect or dialect_of(root)
        fn, description = CATALOGS[rec.dialect][name]
        await fn(rec)
    finally:
        await rec.aclose()
    server: dict[str, Any] = {"version": root.get("version"), "commit": commit,
                              "kind": "simulator" if sim_control else "real",
                              "dialect": rec.dialect, "client_name": rec.client_name}
    if fresh_cmd:
        server["fresh_start"] = True
    return {
        "scenario": name,
        "description": description,
        "server": server,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - started, 1),
        "marks": rec.marks,
        "events": rec.events,
    }
