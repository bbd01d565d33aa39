"""Which dialect a server speaks (v2 contract §1.10), found with the cheapest answer that
tells: `GET /`'s `version` (no key needed); else `POST /verify-creds` (200 on v2 >= 2.1, 404
`Cannot POST` on v1.8); else the shape of `fetchInstances`' items. The client caches the
answer and asks again when a later answer has the other dialect's shape (a server upgraded
in place).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tui.evolution.dialect import Dialect
from tui.evolution.errors import (
    EvolutionError,
    MalformedResponseError,
    NotFoundError,
    UnauthorizedError,
    UnreachableError,
)
from tui.evolution.models import DetectedBy, ServerInfo, ServerProfile
from tui.evolution import parse
from tui.evolution.parse import JSONValue
from tui.evolution.v18.wire import looks_v18


class UndetectableError(MalformedResponseError):
    """No answer said which dialect the server speaks (set `evolution.dialect`)."""


Call = Callable[[str, str, str], Awaitable[JSONValue]]  # (op, method, path) -> body


async def detect(info: Callable[[], Awaitable[ServerInfo]], call: Call) -> ServerProfile:
    """The server's profile. Raises `UnauthorizedError` (a wrong key), `UnreachableError`,
    `UndetectableError` when nothing tells."""
    root: ServerInfo | None = None
    try:
        root = await info()
    except (UnreachableError, UnauthorizedError):
        raise
    except EvolutionError:
        root = None  # `/` proxied away or not JSON: ask the next oracle
    found = Dialect.of_version(root.version if root else None)
    if found is not None and root is not None:
        return _profile(found, DetectedBy.VERSION, root)
    try:
        await call("detect", "POST", "/verify-creds")
        return _profile(Dialect.V2, DetectedBy.VERIFY_CREDS, root)
    except NotFoundError as exc:
        v18_404 = "cannot post" in exc.message.lower()
    except (UnreachableError, UnauthorizedError):
        raise
    except EvolutionError:
        v18_404 = False
    try:
        body = await call("detect", "GET", "/instance/fetchInstances")
    except (UnreachableError, UnauthorizedError):
        raise
    except EvolutionError:
        if not v18_404:
            raise
        body = []
    shape = looks_v18(body)
    if shape is not None:
        return _profile(Dialect.V1_8 if shape else Dialect.V2, DetectedBy.LIST_SHAPE, root)
    if v18_404:  # no verify-creds route, and nothing listed to say otherwise
        return _profile(Dialect.V1_8, DetectedBy.VERIFY_CREDS, root)
    if body != []:  # a list in neither dialect's shape: broken, not ambiguous
        raise MalformedResponseError(f"malformed response: {_what_is_wrong(body)}",
                                     route="GET /instance/fetchInstances")
    raise UndetectableError(
        "cannot tell which Evolution API this is (GET / has no version, /verify-creds and "
        "the instance list do not say): set evolution.dialect to v1.8 or v2",
        route="GET /")


def _what_is_wrong(body: JSONValue) -> str:
    try:
        _, problems = parse.parse_instance_list(body)
    except parse.ParseError as exc:
        return str(exc)
    if problems:
        return f"{len(problems)} unusable item(s) in the instance list, first: {problems[0]}"
    return "the instance list's items have neither dialect's shape"


def _profile(dialect: Dialect, how: DetectedBy, root: ServerInfo | None) -> ServerProfile:
    return ServerProfile(
        dialect=dialect, detected_by=how,
        version=root.version if root else None,
        client_name=root.client_name if root else None,
        whatsapp_web_version=root.whatsapp_web_version if root else None)
