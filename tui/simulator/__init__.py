"""The Evolution API simulator: a real aiohttp server that follows the contract, v1.8 by
default, v2 (2.3.x) with `dialect="v2"`.

`state.py` (pure state machine), `replies.py` (envelopes), `qr.py` (fake pairing payloads),
`faults.py` (fault injection, stats, loopback check), `control.py` (`/_sim/` API),
`server.py` (`Simulator`, `ThreadedSimulator`), `cli.py` (`evodash sim`), `persist.py` (the
state file); v2: `v2.py` (`V2State`), `v2_shapes.py` (routes, bodies), `database.py` (the
shared table), `v2_persist.py` (its state file).
"""

from tui.simulator.server import Simulator, ThreadedSimulator
from tui.simulator.state import SimState

__all__ = ["SimState", "Simulator", "ThreadedSimulator"]
