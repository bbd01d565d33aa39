"""Pydantic models of what an Evolution API server answers, normalised for the rest of
evodash: one model per thing whichever dialect said it (v1.8 or v2; each dialect's package
parses its own shapes into these).

The contracts (`shared/evolution-api/v1.8-contract.md` §3, `v2-contract.md` §1, §4.2) are the
source of every shape here. Tokens are kept as `SecretStr` so `repr`/`str`/`model_dump` never
print them in clear.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tui.evolution.dialect import Dialect
from tui.secrets import mask_token


class InstanceState(StrEnum):
    """Connection state of an instance (contract §5)."""

    OPEN = "open"
    CONNECTING = "connecting"
    CLOSE = "close"


class ProbeState(StrEnum):
    """What `GET /instance/connectionState/{name}` says of a name (contract §3.3, §6).

    present  -> 200 with a `state`: the instance is loaded (and listed by fetchInstances)
    reserved -> 200 without `state`: this server holds the name with no live instance (a
                "ghost": v1.8 a leftover file or collection, v2 a database row of its own);
                DELETE removes it
    foreign  -> 200 without `state`, and the name is another server's: on v2 a row of another
                `clientName` in a database shared by several servers (never listed here). A
                DELETE through this server would destroy the other server's row: never touched
                (only `locate` says this; a plain `probe` calls it reserved)
    absent   -> 404: the name is free
    """

    PRESENT = "present"
    RESERVED = "reserved"
    FOREIGN = "foreign"
    ABSENT = "absent"


class InstanceCounts(BaseModel):
    """What v2 stores for an instance (`_count`): messages, contacts, chats."""

    model_config = ConfigDict(frozen=True)

    messages: int = 0
    contacts: int = 0
    chats: int = 0


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
    counts: InstanceCounts | None = None  # v2 only
    client_name: str | None = None  # v2: the server (`clientName`) whose row this is
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
    """`GET /` welcome body (v1.8 contract §3.9, v2 contract §1.1)."""

    model_config = ConfigDict(frozen=True)

    status: int | None = None
    message: str = ""
    version: str | None = None
    swagger: str | None = None
    documentation: str | None = None
    client_name: str | None = None  # v2 >= 2.1: DATABASE_CONNECTION_CLIENT_NAME
    whatsapp_web_version: str | None = None  # v2 >= 2.3


class DetectedBy(StrEnum):
    """How the dialect of a server was found (v2 contract §1.10)."""

    SETTING = "setting"  # `evolution.dialect` names it: nothing probed
    VERSION = "version"  # `GET /` said its version
    VERIFY_CREDS = "verify-creds"  # `POST /verify-creds` exists (v2) or not (v1.8)
    LIST_SHAPE = "list-shape"  # the shape of `fetchInstances`' items


class ServerProfile(BaseModel):
    """Who the client talks to: dialect, version and (v2) client name, and how that was found."""

    model_config = ConfigDict(frozen=True)

    dialect: Dialect
    detected_by: DetectedBy
    version: str | None = None
    client_name: str | None = None
    whatsapp_web_version: str | None = None

    @property
    def version_dialect(self) -> Dialect | None:
        """The dialect the server's `GET /` version says (None: no version, or neither)."""
        return Dialect.of_version(self.version)

    @property
    def contradicted(self) -> bool:
        """The dialect was set (`evolution.dialect`) and the server's version says the other
        one: every answer will be read in the wrong dialect."""
        said = self.version_dialect
        return self.detected_by is DetectedBy.SETTING and said is not None \
            and said is not self.dialect

    @property
    def label(self) -> str:
        """`Evolution API 2.3.6 (v2, client evo_a)` / `Evolution API 1.8.6 (v1.8)`."""
        version = f" {self.version}" if self.version else ""
        client = f", client {self.client_name}" if self.client_name else ""
        return f"Evolution API{version} ({self.dialect.value}{client})"
