"""What to do next, as commands: for each finding of a reconciliation (an orphan on either
side, a reserved name, a drifting link) the `evodash` command that repairs it, and for each
skipped target how to include it. Pure: the CLI (`report`, `--dry-run`) and the dashboard
show the same advice. Names are quoted for a POSIX shell (`shlex.quote`); the edges still
show them as literal text.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from tui.evolution.models import InstanceState
from tui.lifecycle.domain import OperationKind, Skip, SkipCause
from tui.lifecycle.plans import ClearAllRequest
from tui.lifecycle.seen import human_duration
from tui.reconcile.models import (
    LinkedRow,
    OrphanInstanceRow,
    OrphanProbe,
    OrphanRecordRow,
    Reconciliation,
    Row,
)


@dataclass(frozen=True)
class Advice:
    """One way out: the command, and what it does (in words)."""

    command: str
    why: str


# how to look at a name through the server that holds it
OTHER_SERVER_REPORT = "EVODASH_EVOLUTION__URL=<its URL> evodash report"


def _q(text: str) -> str:
    return shlex.quote(text)


def repairs(row: Row) -> list[Advice]:
    """The commands that repair a finding, the most usual first ([] when nothing is wrong)."""
    name = _q(row.name)
    if isinstance(row, OrphanInstanceRow):
        out = [Advice(f"evodash delete {name}", "remove the instance (verified)")]
        if row.attributed_reseller is not None:
            rid = _q(row.attributed_reseller.id)
            out.append(Advice(f"evodash adopt {name} --reseller {rid}",
                              "keep it: give it a record of that reseller"))
        else:
            out.append(Advice(f"evodash adopt {name} --reseller ID",
                              "keep it: give it a record (evodash resellers lists the ids)"))
        return out
    if isinstance(row, OrphanRecordRow):
        if row.probe is OrphanProbe.ABSENT:
            return [Advice(f"evodash forget {name}", "drop the record (the name is free)"),
                    Advice(f"evodash reprovision {name}",
                           f"re-create its instance, then evodash pair {name}")]
        if row.probe is OrphanProbe.RESERVED:
            return [Advice(f"evodash delete {name}",
                           "free the reserved name (verified), then remove the record; a "
                           "name that comes back after a verified delete is held by the "
                           "deleted instance's orphaned connection, which no API shows: "
                           "only a restart of Evolution API ends it")]
        if row.probe is OrphanProbe.FOREIGN:
            return [Advice(OTHER_SERVER_REPORT,
                           "another Evolution server sharing the database holds the name: "
                           "look at it (and repair it) there; it is never deleted from here")]
        return [Advice("evodash report", "look again: the name was not probed or just changed")]
    return _linked(row)


def _linked(row: LinkedRow) -> list[Advice]:
    if not row.drift:
        return []
    if row.instance.state is not InstanceState.OPEN:
        name = _q(row.name)
        return [Advice(f"evodash pair {name}", "pair the instance again (QR or pairing code)"),
                Advice(f"evodash delete {name}", "or remove the connection (verified)")]
    return [Advice("evodash report", "the record's own fields drift: the platform updates "
                                     "them; nothing for evodash to repair")]


def include_hint(skip: Skip, operation: OperationKind, name: str) -> str:
    """How to act on a skipped target anyway ("" when there is no way, or no need)."""
    cause, q = skip.cause, _q(name)
    if cause is SkipCause.OUT_OF_SCOPE:
        if operation is OperationKind.CLEAR_ALL:
            return ("--include-attributed adds orphan instances named after the reseller; "
                    "others: run without --reseller (admin)")
        return "another tenant's name: run without --reseller (admin)"
    if cause is SkipCause.OTHER_RESELLER:
        return "another tenant's record shares the name: run without --reseller (admin)"
    if cause is SkipCause.OTHER_SERVER:
        return f"on the server that owns it: {OTHER_SERVER_REPORT}"
    if cause is SkipCause.YOUNG_ORPHAN:
        return young_hint(skip, q)
    if cause in (SkipCause.INSTANCE_EXISTS, SkipCause.NAME_NOT_FREE):
        if operation is OperationKind.REPROVISION and cause is SkipCause.INSTANCE_EXISTS:
            return f"pair it instead: evodash pair {q}"
        return f"evodash delete {q}"
    if cause is SkipCause.NOT_AN_INSTANCE:
        return f"evodash reprovision {q}" if operation is OperationKind.PAIR else ""
    if cause is SkipCause.CLAIMED or cause in (SkipCause.CANCELLED, SkipCause.NOT_STARTED):
        return "run the same command again: it converges"
    if skip.changed:
        return "plan again: evodash report shows what it is now"
    return ""


def young_hint(skip: Skip, quoted_name: str) -> str:
    """How the grace of young orphan instances works, and the ways past it."""
    wait = max(0.0, skip.grace_s - skip.age_s)
    when = f"eligible in about {human_duration(wait)}" if skip.grace_s else "eligible"
    return (f"bulk operations leave an orphan instance alone until it is "
            f"{human_duration(skip.grace_s)} old (cleanup.orphan_grace_s; 0 turns this off), "
            f"since its record may still be on its way: {when}, or delete it by name now: "
            f"evodash delete {quoted_name}")


@dataclass(frozen=True)
class LeftOut:
    """Names of the scope an operation does not plan at all (they are not its targets, so
    no skip says why): why, and how to include them."""

    names: tuple[str, ...]
    why: str
    hint: str


def left_out(request: ClearAllRequest, planned: frozenset[str] | set[str],
             view: Reconciliation) -> list[LeftOut]:
    """What a clear-all leaves out of `view` (the reconciliation of its scope), beyond its
    skipped targets: orphan instances attributed to the reseller only by their name (without
    `--include-attributed`), one entry each, and the linked names `--orphans-only` leaves
    out, as one entry."""
    out: list[LeftOut] = []
    scope = request.scope
    if not scope.is_all and not request.include_attributed:
        rid = scope.reseller_id or ""
        for row in view.orphan_instances:
            if row.name in planned or row.attributed_reseller is None \
                    or row.attributed_reseller.id != rid:
                continue
            out.append(LeftOut(
                (row.name,),
                f"orphan instance attributed to {rid} only by its name "
                f"({row.attribution_note}): no record says it is theirs",
                "add --include-attributed to include it"))
    if request.orphans_only:
        linked = tuple(sorted({row.name for row in view.linked} - set(planned)))
        if linked:
            out.append(LeftOut(linked, "linked (an instance and its record): --orphans-only "
                                       "leaves linked names out",
                               "run without --orphans-only to include them"))
    return out
