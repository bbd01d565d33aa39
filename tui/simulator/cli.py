"""`evodash sim`: run the Evolution API simulator in the foreground until Ctrl-C.

Owns: argument parsing (`--dialect v1.8|v2`, default v1.8; v2 only: `--client-name`,
`--version`), the one "listening" line (dialect and version named, api key masked), the
non-loopback warning and a clean shutdown on SIGINT/SIGTERM (exit code 0, no traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from tui.evolution.dialect import Dialect
from tui.secrets import mask_token
from tui.simulator.faults import is_loopback
from tui.simulator.server import Simulator
from tui.simulator.v2 import DEFAULT_CLIENT_NAME, DEFAULT_VERSION, VERSIONS, V2State


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evodash sim", description="Run the Evolution API simulator (v1.8 or v2).")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port, 0 = any free port (default 8080)")
    parser.add_argument("--api-key", default="sim-global-key", help="global apikey (default sim-global-key)")
    parser.add_argument("--latency-ms", type=float, default=0, help="latency added to every request")
    parser.add_argument("--seed", type=int, default=None, help="seed for ids, tokens and fault draws")
    parser.add_argument("--offline", action="store_true",
                        help="WhatsApp unreachable (as the recorded real server): dialing instances flap")
    parser.add_argument("--dial-cost-ms", type=float, default=None,
                        help="latency each flapping socket adds to every request "
                             "(default: recorded, v1.8 11.5, v2 7.2)")
    parser.add_argument("--dialect", choices=[d.value for d in Dialect], default=Dialect.V1_8.value,
                        help="the API the simulator speaks (default v1.8)")
    parser.add_argument("--client-name", default=None,
                        help=f"v2: DATABASE_CONNECTION_CLIENT_NAME (default {DEFAULT_CLIENT_NAME})")
    parser.add_argument("--version", choices=VERSIONS, default=None,
                        help=f"v2: the version it behaves as (default {DEFAULT_VERSION})")
    return parser


def listening_line(sim: Simulator) -> str:
    key = mask_token(sim.api_key)
    if isinstance(sim.state, V2State):
        return (f"Evolution API {sim.state.version} ({sim.dialect}) simulator listening on {sim.url} "
                f"(client name {sim.state.client_name}, api key {key})")
    return f"Evolution v1.8 simulator listening on {sim.url} (api key {key})"


async def _serve(sim: Simulator) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
            pass
    await sim.start()
    try:
        print(listening_line(sim), flush=True)
        await stop.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    v2_options = {"client_name": args.client_name, "version": args.version}
    if args.dialect != Dialect.V2.value:
        given = [f"--{k.replace('_', '-')}" for k, v in v2_options.items() if v is not None]
        if given:
            parser.error(f"{', '.join(given)}: only with --dialect v2")
        v2_options = {}
    if args.host not in ("localhost",) and not is_loopback(args.host):
        print(f"warning: listening on {args.host}; the /_sim/ control API answers loopback peers only",
              file=sys.stderr, flush=True)
    extra = {} if args.dial_cost_ms is None else {"dial_cost_ms": args.dial_cost_ms}
    try:
        sim = Simulator(host=args.host, port=args.port, api_key=args.api_key, latency_ms=args.latency_ms,
                        seed=args.seed, offline=args.offline, dialect=args.dialect, **extra, **v2_options)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        asyncio.run(_serve(sim))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"evodash sim: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
