"""Which Evolution API a server speaks: the `Dialect` enum, shared by the client, the
simulator and the settings (the wire details of each dialect live in its own package)."""

from __future__ import annotations

from enum import StrEnum


class Dialect(StrEnum):
    """An Evolution API dialect: `v1.8` (the 1.8.x maintenance branch) or `v2` (2.x)."""

    V1_8 = "v1.8"
    V2 = "v2"

    @classmethod
    def of_version(cls, version: str | None) -> Dialect | None:
        """The dialect of a `GET /` version string (`1.8.6` -> v1.8, `2.3.6` -> v2), None
        when it says neither."""
        major = (version or "").strip().lstrip("vV").split(".", 1)[0]
        if major == "1":
            return cls.V1_8
        if major == "2":
            return cls.V2
        return None
