"""Finding a reseller by what an operator types: its id or its name, case and accents
ignored, and the nearest one suggested on a miss. Pure (the caller passes the store's
resellers); the CLI's `--reseller` and anything else that takes a reseller from a person use
it, so `maria pena-aguas`, `MARÍA PEÑA-ÁGUAS` and `r-maria` all name `r-maria`.

What counts as a match, in order (the first tier with exactly one reseller wins):
1. the id exactly;
2. the id, folded (`tui.lifecycle.plans.fold`: case and accents ignored);
3. the name, folded (inner runs of whitespace count as one space);
4. the name's letters and digits only (`maria pena aguas` for `María Peña-Águas`).
A tier that matches several resellers is ambiguous (one line naming them: give the id).
A near miss (`maria`, `r-mria`) is never taken for a reseller - the scope decides what may
be deleted - but suggested: `unknown reseller 'maria': did you mean r-maria (María
Peña-Águas)?`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tui.lifecycle.plans import fold
from tui.lifecycle.scope import LifecycleError
from tui.reconcile.naming import name_base
from tui.store.models import Reseller

__all__ = ["AmbiguousResellerError", "ResellerCounts", "UnknownResellerNameError", "counts",
           "describe", "nearest", "resolve"]

# how alike (difflib's ratio, 0..1) a typed text and an id or name must be to be suggested
SUGGEST_CUTOFF = 0.6
# a typed text this short is never suggested by containment ("a" is in every name)
MIN_CONTAINED = 3


class UnknownResellerNameError(LifecycleError):
    """No reseller has that id or name (with the nearest one, when one is near)."""

    def __init__(self, text: str, suggestion: Reseller | None) -> None:
        self.text = text
        self.suggestion = suggestion
        if suggestion is not None:
            hint = f"did you mean {describe(suggestion)}?"
        else:
            hint = "no reseller has that id or name (evodash resellers lists them)"
        super().__init__(f"unknown reseller {text!r}: {hint}")


class AmbiguousResellerError(LifecycleError):
    """Several resellers answer to the same name: the id must be given."""

    def __init__(self, text: str, matches: Sequence[Reseller]) -> None:
        self.text = text
        self.matches = tuple(matches)
        shown = ", ".join(describe(r) for r in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        super().__init__(f"reseller {text!r} is ambiguous: {shown}{more}; give the id")


def describe(reseller: Reseller) -> str:
    """`r-maria (María Peña-Águas)`, or just the id when the reseller has no name."""
    return f"{reseller.id} ({reseller.name})" if reseller.name.strip() else reseller.id


def _spaced(text: str) -> str:
    return " ".join(fold(text).split())


def _alnum(text: str) -> str:
    return "".join(c for c in fold(text) if c.isalnum())


# the tiers of a match, each a key of a reseller compared with the same key of the text
_TIERS: tuple[tuple[Callable[[str], str], Callable[[Reseller], str]], ...] = (
    (lambda t: t, lambda r: r.id),
    (fold, lambda r: fold(r.id)),
    (_spaced, lambda r: _spaced(r.name)),
    (_alnum, lambda r: _alnum(r.name)),
)


def _unique(resellers: Sequence[Reseller]) -> list[Reseller]:
    """Resellers once each by id (the collection may repeat a document), in order."""
    seen: dict[str, Reseller] = {}
    for r in resellers:
        seen.setdefault(r.id, r)
    return list(seen.values())


def resolve(text: str, resellers: Sequence[Reseller]) -> Reseller:
    """The reseller `text` names (its id or its name, see the module's tiers). Raises
    `UnknownResellerNameError` (with the nearest one, if near) or `AmbiguousResellerError`."""
    pool = _unique(resellers)
    for key_of_text, key_of in _TIERS:
        wanted = key_of_text(text)
        if not wanted:
            continue
        found = [r for r in pool if key_of(r) and key_of(r) == wanted]
        if len(found) == 1:
            return found[0]
        if found:
            raise AmbiguousResellerError(text, found)
    raise UnknownResellerNameError(text, nearest(text, pool))


def _keys(reseller: Reseller) -> list[str]:
    keys = [fold(reseller.id)]
    if reseller.name.strip():
        keys += [_spaced(reseller.name), _alnum(reseller.name), name_base(reseller.name)]
    return [k for k in keys if k]


def _score(text: str, reseller: Reseller) -> float:
    """How near `text` is to the reseller: 1 + ratio when it is contained in a key (`maria`
    in `r-maria`), else the best ratio over its keys."""
    folded, packed = _spaced(text), _alnum(text)
    best = 0.0
    for key in _keys(reseller):
        ratio = difflib.SequenceMatcher(None, folded, key).ratio()
        contained = len(packed) >= MIN_CONTAINED and (
            folded in key or packed in "".join(c for c in key if c.isalnum()))
        best = max(best, 1.0 + ratio if contained else ratio)
    return best


def nearest(text: str, resellers: Sequence[Reseller]) -> Reseller | None:
    """The reseller most like `text` (None: none is near enough to suggest)."""
    if not _spaced(text):
        return None
    scored = [(_score(text, r), r) for r in _unique(resellers)]
    scored = [(s, r) for s, r in scored if s >= SUGGEST_CUTOFF]
    if not scored:
        return None
    return max(scored, key=lambda pair: pair[0])[1]


@dataclass(frozen=True)
class ResellerCounts:
    """One reseller's share of an observation."""

    reseller: Reseller
    known: bool  # in the resellers collection (False: only records name it)
    records: int = 0
    linked: int = 0
    orphan_records: int = 0
    orphan_instances: int = 0  # attributed to it by their name's prefix

    def to_json(self) -> dict[str, object]:
        return {"id": self.reseller.id, "name": self.reseller.name, "known": self.known,
                "records": self.records, "linked": self.linked,
                "orphan_records": self.orphan_records,
                "orphan_instances": self.orphan_instances}


@dataclass(frozen=True)
class _Tally:
    records: int = 0
    linked: int = 0
    orphan_records: int = 0
    orphan_instances: int = 0


def counts(resellers: Sequence[Reseller], linked: Sequence[str | None],
           orphan_records: Sequence[str | None], orphan_instances: Sequence[str | None]
           ) -> list[ResellerCounts]:
    """Per reseller, from one observation: records (linked + orphan records, by their
    `reseller_id`), linked, orphan records, and orphan instances attributed to it. Each
    argument after `resellers` lists the reseller id of every row of that kind. Resellers
    that only records name (not in the collection) come after the known ones, `known`
    False; records without a reseller id are not counted."""
    tally: dict[str, _Tally] = {}

    def add(rid: str | None, **more: int) -> None:
        if rid is None:
            return
        t = tally.get(rid, _Tally())
        tally[rid] = _Tally(**{f: getattr(t, f) + more.get(f, 0)
                               for f in ("records", "linked", "orphan_records",
                                         "orphan_instances")})

    for rid in linked:
        add(rid, records=1, linked=1)
    for rid in orphan_records:
        add(rid, records=1, orphan_records=1)
    for rid in orphan_instances:
        add(rid, orphan_instances=1)
    known = _unique(resellers)
    known_ids = {r.id for r in known}
    rows = [ResellerCounts(r, True, **vars(tally.get(r.id, _Tally()))) for r in known]
    rows += [ResellerCounts(Reseller(id=rid), False, **vars(t))
             for rid, t in sorted(tally.items()) if rid not in known_ids]
    return rows
