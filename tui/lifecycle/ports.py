"""The seams of the lifecycle service: what it needs of an Evolution client and of a
connection store, as `Protocol`s. `tui.evolution.EvolutionClient` and
`tui.store.ConnectionStore` satisfy them (checked by mypy where the CLI and the demo wire
them in); tests may pass anything else that does.
"""

from __future__ import annotations

from typing import Any, Protocol

from tui.evolution.models import CreateResult, Instance, ProbeResult
from tui.store.models import ConnectionRecord, InvalidRow, Reseller
from tui.store.mongo import StoreSnapshot


class EvolutionPort(Protocol):
    async def list_instances(self) -> list[Instance]: ...

    async def fetch_instance(self, name: str) -> Instance: ...

    async def probe(self, name: str) -> ProbeResult: ...

    async def create(self, name: str, *, qrcode: bool = False) -> CreateResult: ...

    async def logout(self, name: str) -> None: ...

    async def delete(self, name: str) -> None: ...


class StorePort(Protocol):
    async def load(self, reseller_id: str | None = None) -> StoreSnapshot: ...

    async def list_records(self, reseller_id: str | None
                           ) -> tuple[list[ConnectionRecord], list[InvalidRow]]: ...

    async def find_records(self, instance_name: str,
                           reseller_id: str | None = None) -> list[ConnectionRecord]: ...

    async def find_records_named(self, names: list[str]) -> list[ConnectionRecord]: ...

    async def list_resellers(self) -> list[Reseller]: ...

    async def get_reseller(self, reseller_id: str) -> Reseller | None: ...

    async def insert_record(self, reseller_id: str, instance_name: str, *,
                            phone_number: str | None = None, status: str = "disconnected"
                            ) -> ConnectionRecord: ...

    async def delete_record(self, instance_name: str, *, reseller_id: str | None,
                            doc_id: str | None = None) -> int: ...

    async def mark_record(self, doc_id: str, **fields: Any) -> int: ...
