"""Verified removal of one instance: re-check → stop the dialing → delete → verify → retry.

What the real v1.8 server does (contract §11, recorded in `tests/data/real-v1.8/`):

* An instance may be *dialing* WhatsApp (after a QR create, a connect, or any restart of the
  server). Offline its state flips `close` ↔ `connecting` many times a second, so one
  snapshot mostly says `close`. A delete that lands while it is `close` orphans its socket,
  and the socket re-creates the name: reserved at once, or free for 0.1–0.3 s and then
  reserved until the server restarts. So `close` never proves "quiet".
* A logout that lands while it is `connecting` answers 200 and stops the dialing for good;
  in `close` it answers 400 "not connected". A quiet `close` instance answers 400 every time.
  A `connect` that lands while a dialing instance flaps `close` starts a second socket on
  1.8.6; a logout stops one, the other dials on (seen `connecting` again within 0.2 s of the
  200 in 3 of 3 raw trials), and a delete then leaves the name reserved: `stuck_reserved`,
  its record kept. evodash's own pair stops the dialing before it connects
  (`tui.lifecycle.ops.pair`); a connect made by someone else is not handled here (a watch
  after every landed logout doubled the dialing deletes' time on the real server).

The package, one step a module: `policy.py` (how hard to try), `slot.py` (a target's place
in the operation's concurrency limit), `dialing_stop.py` (retry the logout until the
dialing stopped or the instance proved quiet), `verify.py` (probe until absent, then hold
the absence `free_hold_s`), `remover.py` (the steps in order, with retries). The verdict
is always a probe's (`connectionState`), never `fetchInstances`, which cannot see reserved
names (§6). The caller removes records only for `removed` / `already_absent`.
"""

from tui.lifecycle.removal.policy import RESERVED_HINT, DeletePolicy, DeleteResult
from tui.lifecycle.removal.remover import InstanceRemover
from tui.lifecycle.removal.slot import Slot

__all__ = ["RESERVED_HINT", "DeletePolicy", "DeleteResult", "InstanceRemover", "Slot"]
