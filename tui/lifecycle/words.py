"""Human words for the lifecycle's types: a skip's sentence, a step's name in a plan, a
target's plan line. Only the edges call these (CLI lines, the dashboard, the audit log's
`reason`); nothing decides anything by reading what they return.
"""

from __future__ import annotations

from tui.evolution.models import (
    DetectedBy,
    InstanceState,
    ProbeResult,
    ProbeState,
    ServerProfile,
)
from tui.lifecycle.domain import OperationKind, Skip, SkipCause, Step
from tui.lifecycle.seen import human_duration

_CHANGED = "changed since the plan: "

_FIXED: dict[SkipCause, str] = {
    SkipCause.NOT_FOUND: "not found: neither an Evolution instance nor a database record",
    SkipCause.OTHER_RESELLER: "the name is also used by another reseller's record",
    SkipCause.NO_RECORD: "no record with that name",
    SkipCause.ALREADY_LINKED: "the name already has a record",
    SkipCause.ALREADY_OPEN: "already paired: the instance is open",
    SkipCause.CANCELLED: "cancelled before it started",
    SkipCause.RECORD_APPEARED: _CHANGED + "a record appeared for it (the platform linked "
                                          "it): not an orphan any more",
    SkipCause.RECORDS_REMOVED: _CHANGED + "its record(s) were removed by someone else",
    SkipCause.RECORDS_CHANGED: _CHANGED + "its records changed",
    SkipCause.OTHER_RESELLER_NOW: _CHANGED + "another reseller's record now uses this name",
    SkipCause.INSTANCE_APPEARED: _CHANGED + "an instance appeared for this name "
                                            "(re-provisioned?); not touched",
}


def other_server_text(client_name: str = "") -> str:
    """Why a name held by another server on the same database is never touched from here."""
    this = f" (this one is client {client_name})" if client_name else ""
    return ("the name belongs to another Evolution server sharing this database" + this +
            ": a delete through this server would destroy that server's instance, so it is "
            "never touched here and its record is kept - manage it on the server that owns it")


#: where a dialect that was set comes from, as `detected_text` names it
DIALECT_SETTING = "evolution.dialect"
DIALECT_OPTION = "--dialect"

_DETECTED: dict[DetectedBy, str] = {
    DetectedBy.VERSION: "detected from GET / version",
    DetectedBy.VERIFY_CREDS: "detected from /verify-creds",
    DetectedBy.LIST_SHAPE: "detected from the instance list's shape",
}


def detected_text(how: DetectedBy, setting: str = DIALECT_SETTING) -> str:
    """How the server's dialect was found (`set by evolution.dialect`, `detected from GET /
    version`, ...); `setting` names where a set dialect came from."""
    if how is DetectedBy.SETTING:
        return f"set by {setting}"
    return _DETECTED[how]


def contradiction_text(profile: ServerProfile, setting: str = DIALECT_SETTING) -> str:
    """A set dialect the server's own version contradicts (`ServerProfile.contradicted`):
    both named, and the fix."""
    said = profile.version_dialect
    other = said.value if said is not None else "auto"
    fix = (f"use {DIALECT_OPTION} {other}, or leave it out" if setting == DIALECT_OPTION
           else f"set {setting} to auto or {other}")
    return (f"{setting} is {profile.dialect.value} but the server says version "
            f"{profile.version} ({other}): its answers would be read as "
            f"{profile.dialect.value}; {fix}")


#: a listed v2 instance whose name the server holds with no live instance (a "ghost row")
GHOST_ROW_TEXT = "no live instance (a database row only): delete removes it"


def liveness_text(probe: ProbeResult) -> str:
    """What the probe of a listed instance says of it (v2: the list is database rows, so a
    listed name may have no live instance)."""
    if probe.state is ProbeState.RESERVED:
        return GHOST_ROW_TEXT
    if probe.state is ProbeState.PRESENT:
        state = probe.instance_state.value if probe.instance_state else "?"
        return f"live instance ({state})"
    if probe.state is ProbeState.ABSENT:
        return "the server does not hold the name now (removed since the last refresh?)"
    return other_server_text()


def skip_text(skip: Skip | None) -> str:
    """The one-line sentence of a skip ("" for none)."""
    if skip is None:
        return ""
    cause = skip.cause
    if cause in _FIXED:
        return _FIXED[cause]
    if cause is SkipCause.OUT_OF_SCOPE:
        return f"outside scope {skip.scope}"
    if cause is SkipCause.OTHER_SERVER:
        return other_server_text(skip.detail)
    if cause is SkipCause.YOUNG_ORPHAN:
        return (f"young orphan instance ({human_duration(skip.age_s)} old by "
                f"{skip.age_source}; grace {human_duration(skip.grace_s)}): its record may be "
                "on its way")
    if cause is SkipCause.NOT_AN_INSTANCE:
        what = {OperationKind.ADOPT: " (nothing to adopt)", OperationKind.PAIR:
                " (nothing to pair)"}.get(skip.operation or OperationKind.ADOPT, "")
        return f"not an Evolution instance{what}"
    if cause is SkipCause.INSTANCE_EXISTS:
        return ("the instance exists: use delete, not forget" if skip.operation
                is OperationKind.FORGET else "the instance already exists")
    if cause is SkipCause.NAME_NOT_FREE:
        text = f"the name is {skip.state or 'unknown'} on Evolution"
        return text + (": use delete" if skip.operation is OperationKind.FORGET else "")
    if cause is SkipCause.NOT_STARTED:
        return f"not started: {skip.detail}" if skip.detail else "not started"
    if cause is SkipCause.CLAIMED:
        return f"another evodash run is working on this name ({skip.detail})"
    return cause.value.replace("_", " ")


def step_text(step: Step, *, state: InstanceState | None = None, records: int = 0) -> str:
    """A planned step as the confirmation shows it."""
    if step is Step.LOGOUT:
        return ("logout" if state in (InstanceState.OPEN, InstanceState.CONNECTING)
                else "stop any dialing")
    if step is Step.VERIFY:
        return "verify free"
    if step is Step.RECORD:
        return f"remove {records} record(s)"
    if step is Step.INSERT:
        return "insert the record"
    if step is Step.CREATE:
        return "create the instance"
    if step is Step.CONNECT:
        return "ask the server for a QR code (or a pairing code)"
    return step.value
