"""The Evolution API v1.8 simulator: a real aiohttp server that follows the contract.

`state.py` (pure state machine), `replies.py` (envelopes), `qr.py` (fake pairing payloads),
`faults.py` (fault injection, stats, loopback check), `control.py` (`/_sim/` API),
`server.py` (`Simulator`, `ThreadedSimulator`), `cli.py` (`evodash sim`).
"""

from tui.simulator.server import Simulator, ThreadedSimulator
from tui.simulator.state import SimState

__all__ = ["SimState", "Simulator", "ThreadedSimulator"]
