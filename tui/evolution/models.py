"""Pydantic models of what the Evolution API v1.8 answers, normalised for the rest of evodash.

The contract (`shared/evolution-api/v1.8-contract.md` §3) is the source of every shape here.
Tokens are kept as `SecretStr` so `repr`/`str`/`model_dump` never print them in clear.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tui.secrets import mask_token


class InstanceState(StrEnum):
    """Connection state of an instance (contract §5)."""

    OPEN = "open"
    CONNECTING = "connecting"
    CLOSE = "close"


class ProbeState(StrEnum):
    """What `GET /instance/connectionState/{name}` says of a name (contract §3.3, §6).

    present  -> 200 with a `state`: the instance is loaded (and listed by fetchInstances)
    reserved -> 200 without `state`: the server holds the name but does not list it (a "ghost")
    absent   -> 404: the name is free
    """

    PRESENT = "present"
    RESERVED = "reserved"
    ABSENT = "absent"


class Instance(BaseModel):
    """One Evolution instance as listed by `fetchInstances` (or built from a create answer)."""

    model_config = ConfigDict(frozen=True)

    name: str
    id: str | None = None
    state: InstanceState | None = None
    owner: str | None = None  # WhatsApp JID, only for `open` instances
    profile_name: str | None = None
    profile_picture_url: str | None = None
    profile_status: str | None = None
    integration: str | None = None  # e.g. WHATSAPP-BAILEYS / WHATSAPP-BUSINESS when stored
    server_url: str | None = None
    token: SecretStr | None = Field(default=None, repr=False)
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)  # apikey already masked
    # listed `close` but seen `connecting` moments ago: dialing (set by the lifecycle's
    # DialingTracker from several observations, never by the client)
    dialing: bool = False

    @property
    def shown_state(self) -> str:
        """The state as evodash shows it: `dialing` for a flapping `close` instance."""
        if self.dialing:
            return "dialing"
        return self.state.value if self.state else "?"

    @property
    def masked_token(self) -> str:
        return mask_token(self.token.get_secret_value()) if self.token else ""

    @property
    def owner_number(self) -> str:
        """The phone number part of the owner JID (`5511...@s.whatsapp.net` -> `5511...`)."""
        return (self.owner or "").split("@", 1)[0].split(":", 1)[0]


class ProbeResult(BaseModel):
    """Answer of a probe of one name."""

    model_config = ConfigDict(frozen=True)

    name: str
    state: ProbeState
    instance_state: InstanceState | None = None  # only when PRESENT


class QRCode(BaseModel):
    """QR / pairing payload of create(qrcode=true) and connect (contract §3.1, §3.2)."""

    model_config = ConfigDict(frozen=True)

    pairing_code: str | None = None
    code: str | None = None
    base64: str | None = Field(default=None, repr=False)
    count: int = 0


class ConnectResult(BaseModel):
    """`GET /instance/connect/{name}`: either a QR payload, or a state when already open,
    or nothing at all (a reserved "ghost" name answers 200 with an empty body)."""

    model_config = ConfigDict(frozen=True)

    name: str
    qrcode: QRCode | None = None
    state: InstanceState | None = None
    empty: bool = False


class CreateResult(BaseModel):
    """`POST /instance/create` 201 answer."""

    model_config = ConfigDict(frozen=True)

    instance: Instance
    token: SecretStr | None = Field(default=None, repr=False)
    qrcode: QRCode | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)  # hash.apikey masked


class ServerInfo(BaseModel):
    """`GET /` welcome body (contract §3.9)."""

    model_config = ConfigDict(frozen=True)

    status: int | None = None
    message: str = ""
    version: str | None = None
    swagger: str | None = None
    documentation: str | None = None
