"""`evodash sim`: run the Evolution v1.8 simulator in the foreground until Ctrl-C.

Owns: argument parsing, the one "listening" line (api key masked), the non-loopback warning
and a clean shutdown on SIGINT/SIGTERM (exit code 0, no traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from tui.secrets import mask_token
from tui.simulator.faults import is_loopback
from tui.simulator.server import Simulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evodash sim", description="Run the Evolution API v1.8 simulator.")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port, 0 = any free port (default 8080)")
    parser.add_argument("--api-key", default="sim-global-key", help="global apikey (default sim-global-key)")
    parser.add_argument("--latency-ms", type=float, default=0, help="latency added to every request")
    parser.add_argument("--seed", type=int, default=None, help="seed for ids, tokens and fault draws")
    parser.add_argument("--offline", action="store_true",
                        help="WhatsApp unreachable (as the recorded real server): dialing instances flap")
    parser.add_argument("--dial-cost-ms", type=float, default=None,
                        help="latency each flapping socket adds to every request (default: recorded 11.5)")
    return parser


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
        print(f"Evolution v1.8 simulator listening on {sim.url} (api key {mask_token(sim.api_key)})", flush=True)
        await stop.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.host not in ("localhost",) and not is_loopback(args.host):
        print(f"warning: listening on {args.host}; the /_sim/ control API answers loopback peers only",
              file=sys.stderr, flush=True)
    extra = {} if args.dial_cost_ms is None else {"dial_cost_ms": args.dial_cost_ms}
    sim = Simulator(host=args.host, port=args.port, api_key=args.api_key, latency_ms=args.latency_ms,
                    seed=args.seed, offline=args.offline, **extra)
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
