"""The census of a bulk removal: while targets try to stop dialing, list the instances over
and over. One request samples every instance, so a flapping one shows `connecting` in some
lists (and is not taken for quiet), and a quiet one collects its `close` samples without a
logout each (see `DeletePolicy`). It ends once every listed target has enough of them.
Errors are ignored (the per-target logouts decide anyway).
"""

from __future__ import annotations

import asyncio
import time

from tui.evolution.errors import EvolutionError
from tui.evolution.models import InstanceState
from tui.lifecycle.dialing import DialingTracker
from tui.lifecycle.ports import EvolutionPort
from tui.lifecycle.removal.dialing_stop import CensusBoard

CENSUS_EVERY_S = 0.03
CENSUS_LANES = 3  # lists in flight at once (a slow list must not leave the census blind)
CENSUS_IDLE_S = 0.02


async def census_lane(client: EvolutionPort, board: CensusBoard, dialing: DialingTracker,
                      names: set[str], enough: int, offset: float = 0.0) -> None:
    """One lane of the census over `names` (the listed targets)."""
    counts = board.close_counts
    pending = set(names)  # listed targets not yet seen `enough` times
    await asyncio.sleep(offset)  # lanes staggered: lists at different moments
    while pending:
        if not board.stopping:
            await asyncio.sleep(CENSUS_IDLE_S)
            continue
        try:
            instances = await client.list_instances()
        except EvolutionError:
            await asyncio.sleep(CENSUS_EVERY_S)
            continue
        dialing.feed(instances)
        if board.since is None:
            board.since = time.monotonic()
        closed = set()
        for inst in instances:
            if inst.state is InstanceState.CLOSE:
                closed.add(inst.name)
                counts[inst.name] = counts.get(inst.name, 0) + 1
        # done with a name once it was seen `close` often enough, or was not `close`
        # (gone, or connecting/open: the first logout lands, no samples needed)
        pending = {n for n in pending if n in closed and counts.get(n, 0) < enough}
        await asyncio.sleep(CENSUS_EVERY_S)


def start_census(client: EvolutionPort, board: CensusBoard, dialing: DialingTracker,
                 names: set[str], enough: int) -> list[asyncio.Task[None]]:
    """The census lanes over `names` (none for fewer than two listed targets)."""
    if len(names) < 2:
        return []
    return [asyncio.create_task(census_lane(client, board, dialing, names, enough,
                                            lane * CENSUS_EVERY_S / CENSUS_LANES))
            for lane in range(CENSUS_LANES)]
