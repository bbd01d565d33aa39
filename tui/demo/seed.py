"""The demo's data: a realistic, fully deterministic picture of a drifted platform.

Three resellers, about forty instances (some `open` with owners and profile names), linked
rows, orphans on both sides (some attributable to a reseller by their name prefix), one name
the server keeps reserved, and one drifted row. The same data serves `evodash --demo`, the
snapshot tests and the benchmarks, so nothing here may depend on the clock or on chance.

For a v2 server (`build_demo_data(Dialect.V2)`) the same world, plus what only v2 has: the
instances' stored messages / contacts / chats, and a record whose name a row of another
server sharing the database holds (client `evo_b`: `other server`). The reserved name is,
on v2, a row of this server with no live instance: listed (so linked), but not live.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from tui.evolution.dialect import Dialect
from tui.reconcile.naming import instance_name

BASE_TS = 1761316665  # names carry the platform's unix timestamp suffix
CREATED_AT = datetime(2025, 10, 24, 14, 37, 45, tzinfo=UTC)
_NS = uuid.UUID("6f1f9c3e-3f2a-4d7e-9a51-0c1d2e3f4a5b")


@dataclass(frozen=True)
class DemoReseller:
    id: str
    name: str
    linked: int  # how many linked connections


RESELLERS = (
    DemoReseller("r-fabio", "Fabio Telecom", 12),
    DemoReseller("r-maria", "María Peña-Águas", 10),
    DemoReseller("r-zap", "ZapLink", 9),
)

OTHER_CLIENT = "evo_b"  # v2: the other server sharing the demo's database
_PROFILES = ("Loja Central", "Suporte", "Vendas SP", "Atendimento", "Financeiro", "Delivery")


@dataclass
class DemoData:
    resellers: list[dict] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    instances: list[dict] = field(default_factory=list)  # simulator seed entries
    reserved: list[str] = field(default_factory=list)
    drifted: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # v2: names another server holds


def _uid(text: str) -> str:
    return str(uuid.uuid5(_NS, text))


def _state(index: int) -> str:
    return ("open", "close", "open", "connecting", "close", "open")[index % 6]


def _record(reseller: DemoReseller, name: str, index: int, status: str) -> dict:
    return {
        "_id": ObjectId(_uid("oid:" + name).replace("-", "")[:24]),
        "id": _uid("record:" + name),
        "reseller_id": reseller.id,
        "instance_name": name,
        "phone_number": f"55119{index:04d}{len(reseller.id):04d}",
        "status": status,
        "daily_limit": 200 + 50 * (index % 5),
        "created_at": CREATED_AT + timedelta(hours=index * 7 + len(reseller.name)),
    }


def _instance(name: str, state: str, index: int, phone: str) -> dict:
    entry = {"name": name, "state": state, "token": f"DEMO-TOKEN-{_uid(name)[:8].upper()}"}
    if state == "open":
        entry["owner"] = f"{phone}@s.whatsapp.net"
        entry["profileName"] = _PROFILES[index % len(_PROFILES)]
    return entry


def build_demo_data(dialect: Dialect = Dialect.V1_8) -> DemoData:
    data = DemoData()
    for r_index, reseller in enumerate(RESELLERS):
        data.resellers.append({"id": reseller.id, "name": reseller.name,
                               "email": f"{reseller.id}@example.com"})
        for n in range(1, reseller.linked + 1):
            name = instance_name(reseller.name, n, BASE_TS + 97 * n + r_index * 13)
            state = _state(n + r_index)
            status = "connected" if state == "open" else "disconnected"
            record = _record(reseller, name, n, status)
            data.records.append(record)
            data.instances.append(_instance(name, state, n, record["phone_number"]))
    # One drifted row: the record says connected, the instance is closed.
    drift = next(r for r in data.records if r["status"] == "disconnected")
    drift["status"] = "connected"
    data.drifted.append(drift["instance_name"])
    fabio, maria, zap = RESELLERS
    # Orphan instances: three attributable by prefix, two that match nobody.
    for reseller, n, state in ((fabio, 13, "close"), (maria, 11, "connecting"),
                               (zap, 10, "open")):
        name = instance_name(reseller.name, n, BASE_TS + 5000 + n)
        data.instances.append(_instance(name, state, n, f"5521{n:07d}"))
    data.instances.append(_instance("teste_bot", "close", 1, ""))
    data.instances.append(_instance("old-support-line", "open", 2, "5531988887777"))
    # Orphan records: two whose name is free, one whose name the server still reserves.
    for reseller, n in ((fabio, 14), (zap, 11)):
        name = instance_name(reseller.name, n, BASE_TS + 9000 + n)
        data.records.append(_record(reseller, name, n, "disconnected"))
    reserved = instance_name(maria.name, 12, BASE_TS + 9100)
    data.records.append(_record(maria, reserved, 12, "disconnected"))
    data.instances.append({"name": reserved, "ghost": True})
    data.reserved.append(reserved)
    if dialect is Dialect.V2:
        _v2_extras(data)
    return data


def _v2_extras(data: DemoData) -> None:
    """What only a v2 server has (see the module)."""
    for index, entry in enumerate(data.instances):
        if entry.get("ghost"):
            continue
        entry.update(messages=(index * 37) % 500, contacts=(index * 11) % 90,
                     chats=(index * 7) % 40)
    zap = RESELLERS[2]
    foreign = instance_name(zap.name, 12, BASE_TS + 9200)
    data.records.append(_record(zap, foreign, 12, "connected"))
    data.instances.append({"name": foreign, "state": "open", "client_name": OTHER_CLIENT,
                           "live": False})
    data.foreign.append(foreign)
