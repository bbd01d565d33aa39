"""Integration tests of `EvolutionClient` against the v1.8 simulator over loopback
(fixture `sim` from tests/fixtures/sim.py): every operation, every typed error, the retry policy
(counted on the server side with `sim.stats()`), awkward names and secret hygiene."""

from __future__ import annotations

import socket

import pytest

from tui.evolution.client import EvolutionClient
from tui.evolution.errors import (
    BadRequestError,
    EvolutionTimeoutError,
    MalformedResponseError,
    NameInUseError,
    NotConnectedError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    UnreachableError,
)
from tui.evolution.models import InstanceState, ProbeState

FAST = {"backoff_base_s": 0.005, "backoff_max_s": 0.02}


@pytest.fixture
async def client(sim):
    async with EvolutionClient(sim.url, sim.api_key, timeout_s=10, retries=3, **FAST) as c:
        yield c


def route_count(sim, route: str) -> int:
    return sim.stats()["requests"].get(route, 0)


# ------------------------------------------------------------------ operations


async def test_server_info(client):
    info = await client.server_info()
    assert info.status == 200
    assert info.version == "1.8.6"
    assert "Evolution API" in info.message


async def test_create_list_fetch_probe_delete(sim, client):
    created = await client.create("acc1")
    assert created.instance.name == "acc1"
    assert created.instance.id
    token = created.token.get_secret_value()
    assert token and created.raw["hash"]["apikey"] != token
    assert token not in repr(created) and token not in str(created)

    listed = await client.list_instances()
    assert [i.name for i in listed] == ["acc1"]
    assert listed[0].state is InstanceState.CLOSE
    assert listed[0].token.get_secret_value() == token
    assert token not in repr(listed[0]) and token not in str(listed[0].raw)

    one = await client.fetch_instance("acc1")
    assert one.name == "acc1" and one.id == created.instance.id and one.state is InstanceState.CLOSE

    probe = await client.probe("acc1")
    assert probe.state is ProbeState.PRESENT and probe.instance_state is InstanceState.CLOSE

    await client.delete("acc1")
    assert (await client.probe("acc1")).state is ProbeState.ABSENT
    assert await client.list_instances() == []
    await client.check_auth()


async def test_create_with_token_and_duplicate_token(sim, client):
    created = await client.create("t4", token="my-fixed-token-1")
    assert created.token.get_secret_value() == "my-fixed-token-1"
    with pytest.raises(BadRequestError) as info:
        await client.create("t5", token="my-fixed-token-1")
    assert "Token already exists" in str(info.value)
    assert "my-fixed-token-1" not in str(info.value)
    assert info.value.status == 400 and info.value.attempts == 1
    assert route_count(sim, "create") == 2


async def test_create_validation_error_is_flattened(client):
    with pytest.raises(BadRequestError) as info:
        await client.create("t3", number="+55 11")
    text = str(info.value)
    assert "number does not match pattern" in text and "\n" not in text
    assert text.endswith("(POST /instance/create)")


async def test_create_with_qrcode(client):
    created = await client.create("qr1", qrcode=True)
    assert created.qrcode is not None
    assert created.qrcode.count >= 0


async def test_create_name_in_use_not_retried(sim, client):
    await client.create("t1")
    with pytest.raises(NameInUseError) as info:
        await client.create("t1")
    assert 'This name "t1" is already in use.' in str(info.value)
    assert info.value.status == 403
    assert route_count(sim, "create") == 2


async def test_fetch_instance_not_found_is_500_mapped(sim, client):
    with pytest.raises(NotFoundError) as info:
        await client.fetch_instance("doesnotexist")
    assert info.value.status == 500
    assert 'Instance "doesnotexist" not found' in str(info.value)
    assert route_count(sim, "fetchInstances") == 1  # mapped 500 is not retried


async def test_probe_present_reserved_absent(sim, client):
    sim.seed([
        {"name": "live", "state": "open", "owner": "5511999999999@s.whatsapp.net", "profileName": "Ana"},
        {"name": "ghost", "ghost": True},
    ])
    live = await client.probe("live")
    assert live.state is ProbeState.PRESENT and live.instance_state is InstanceState.OPEN
    ghost = await client.probe("ghost")
    assert ghost.state is ProbeState.RESERVED and ghost.instance_state is None
    absent = await client.probe("nope")
    assert absent.state is ProbeState.ABSENT
    # the ghost is not listed and not fetchable, but its name is in use
    assert [i.name for i in await client.list_instances()] == ["live"]
    with pytest.raises(NotFoundError):
        await client.fetch_instance("ghost")
    with pytest.raises(NameInUseError):
        await client.create("ghost")


async def test_open_instance_fields(sim, client):
    sim.seed([{"name": "live", "state": "open", "owner": "5511999999999@s.whatsapp.net", "profileName": "Ana",
               "token": "seeded-token-abcdef"}])
    inst = await client.fetch_instance("live")
    assert inst.state is InstanceState.OPEN
    assert inst.owner_number == "5511999999999"
    assert inst.profile_name == "Ana"
    assert inst.token.get_secret_value() == "seeded-token-abcdef"
    assert "seeded-token-abcdef" not in repr(inst) and "seeded-token-abcdef" not in str(inst.raw)


async def test_connect_shapes(sim, client):
    sim.seed([{"name": "live", "state": "open"}, {"name": "ghost", "ghost": True}, {"name": "cold", "state": "close"}])
    opened = await client.connect("live")
    assert opened.state is InstanceState.OPEN and opened.qrcode is None and not opened.empty
    ghost = await client.connect("ghost")
    assert ghost.empty is True and ghost.qrcode is None and ghost.state is None
    cold = await client.connect("cold")
    assert cold.qrcode is not None and not cold.empty
    with pytest.raises(NotFoundError):
        await client.connect("nope")


async def test_restart(sim, client):
    sim.seed([{"name": "t1", "state": "close"}, {"name": "g2", "ghost": True}])
    result = await client.restart("t1")
    assert result.state is ProbeState.PRESENT and result.instance_state is InstanceState.CLOSE
    assert (await client.restart("g2")).state is ProbeState.RESERVED
    with pytest.raises(NotFoundError) as info:
        await client.restart("nope")
    assert info.value.status == 404 and "does not exist" in str(info.value)
    assert route_count(sim, "restart") == 3


async def test_logout(sim, client):
    sim.seed([{"name": "cold", "state": "close"}, {"name": "warm", "state": "connecting"}, {"name": "g", "ghost": True}])
    with pytest.raises(NotConnectedError) as info:
        await client.logout("cold")
    assert 'The "cold" instance is not connected' in str(info.value)
    assert route_count(sim, "logout") == 1
    await client.logout("warm")
    await client.logout("g")
    with pytest.raises(NotFoundError):
        await client.logout("nope")


async def test_delete_unknown_not_retried(sim, client):
    with pytest.raises(NotFoundError) as info:
        await client.delete("doesnotexist")
    assert str(info.value) == 'The "doesnotexist" instance does not exist (DELETE /instance/delete/doesnotexist)'
    assert info.value.attempts == 1
    assert route_count(sim, "delete") == 1


async def test_delete_ghost(sim, client):
    sim.seed([{"name": "ghost", "ghost": True}])
    await client.delete("ghost")
    assert (await client.probe("ghost")).state is ProbeState.ABSENT


# ------------------------------------------------------------------ auth


async def test_wrong_key_is_unauthorized_and_never_echoed(sim):
    bad = "wrong-key-ABCDEFGHIJKL"
    async with EvolutionClient(sim.url, bad, retries=3, **FAST) as client:
        with pytest.raises(UnauthorizedError) as info:
            await client.check_auth()
        assert str(info.value) == "Evolution API rejected the API key (401) (GET /instance/fetchInstances)"
        assert info.value.attempts == 1
        assert route_count(sim, "fetchInstances") == 1
        with pytest.raises(UnauthorizedError):
            await client.create("free-name")
        assert bad not in repr(client) and sim.api_key not in repr(client)


async def test_guard_order_404_before_401(sim):
    """Contract §1: an unknown name answers 404 even with a bad key, a known one 401."""
    sim.seed([{"name": "t1", "state": "close"}])
    async with EvolutionClient(sim.url, "wrong-key-ABCDEFGHIJKL", retries=0) as client:
        assert (await client.probe("nope")).state is ProbeState.ABSENT
        with pytest.raises(UnauthorizedError):
            await client.probe("t1")
        with pytest.raises(NameInUseError):
            await client.create("t1")


async def test_rotated_key_gives_401(sim, client):
    await client.check_auth()
    sim.faults(api_key="rotated-key-0000000000")
    with pytest.raises(UnauthorizedError):
        await client.check_auth()
    with pytest.raises(UnauthorizedError):
        await client.list_instances()


async def test_instance_token_accepted_on_own_route(sim, client):
    created = await client.create("t1")
    token = created.token.get_secret_value()
    async with EvolutionClient(sim.url, token, retries=0) as scoped:
        assert (await scoped.probe("t1")).state is ProbeState.PRESENT
        with pytest.raises(UnauthorizedError) as info:
            await scoped.check_auth()  # files mode: an instance token cannot list
        assert token not in str(info.value) and token not in repr(scoped)


# ------------------------------------------------------------------ retries and transient errors


async def test_5xx_retried_then_success(sim, client):
    await client.create("a1")
    sim.faults(error_status=500, error_count=2, routes=["fetchInstances"])
    listed = await client.list_instances()
    assert [i.name for i in listed] == ["a1"]
    assert route_count(sim, "fetchInstances") == 3
    assert client.stats.retries == 2


async def test_5xx_retries_exhausted(sim):
    async with EvolutionClient(sim.url, sim.api_key, retries=2, **FAST) as client:
        sim.faults(error_status=503, error_count=10, routes=["connectionState"])
        with pytest.raises(ServerError) as info:
            await client.probe("x")
    assert info.value.status == 503 and info.value.attempts == 3
    assert "(GET /instance/connectionState/x)" in str(info.value)
    assert route_count(sim, "connectionState") == 3


async def test_429_retried(sim, client):
    sim.seed([{"name": "t1", "state": "close"}])
    sim.faults(error_status=429, error_count=1, routes=["connectionState"])
    assert (await client.probe("t1")).state is ProbeState.PRESENT
    assert route_count(sim, "connectionState") == 2


async def test_429_exhausted_is_rate_limited(sim):
    async with EvolutionClient(sim.url, sim.api_key, retries=1, **FAST) as client:
        sim.faults(error_status=429, error_count=5, routes=["root"])
        with pytest.raises(RateLimitedError) as info:
            await client.server_info()
    assert info.value.status == 429 and info.value.attempts == 2
    assert route_count(sim, "root") == 2


async def test_injected_4xx_not_retried(sim, client):
    sim.seed([{"name": "t1", "state": "close"}])
    sim.faults(error_status=400, error_count=3, routes=["delete"])
    with pytest.raises(BadRequestError):
        await client.delete("t1")
    assert route_count(sim, "delete") == 1


async def test_timeout_retried_then_success(sim):
    sim.seed([{"name": "t1", "state": "open"}])
    async with EvolutionClient(sim.url, sim.api_key, timeout_s=0.3, retries=2, **FAST) as client:
        sim.faults(timeout_count=1, hang_s=1, routes=["connectionState"])
        result = await client.probe("t1")
    assert result.instance_state is InstanceState.OPEN
    assert route_count(sim, "connectionState") == 2


async def test_timeout_exhausted(sim):
    async with EvolutionClient(sim.url, sim.api_key, timeout_s=0.2, retries=1, **FAST) as client:
        sim.faults(timeout_count=5, hang_s=1, routes=["fetchInstances"])
        with pytest.raises(EvolutionTimeoutError) as info:
            await client.list_instances()
    assert str(info.value) == "no answer within 0.2 s (GET /instance/fetchInstances)"
    assert info.value.transient and info.value.attempts == 2
    assert route_count(sim, "fetchInstances") == 2


async def test_create_not_retried_after_timeout(sim):
    async with EvolutionClient(sim.url, sim.api_key, timeout_s=0.2, retries=3, **FAST) as client:
        sim.faults(timeout_count=1, hang_s=1, routes=["create"])
        with pytest.raises(EvolutionTimeoutError) as info:
            await client.create("c1")
        assert info.value.attempts == 1
        assert route_count(sim, "create") == 1
        # the caller verifies with a probe instead (whatever the server did, it is not a 403 loop)
        assert (await client.probe("c1")).state in (ProbeState.ABSENT, ProbeState.PRESENT)


async def test_create_not_retried_after_5xx(sim, client):
    sim.faults(error_status=500, error_count=1, routes=["create"])
    with pytest.raises(ServerError):
        await client.create("c1")
    assert route_count(sim, "create") == 1


async def test_create_retried_after_429(sim, client):
    sim.faults(error_status=429, error_count=1, routes=["create"])
    created = await client.create("c1")
    assert created.instance.name == "c1"
    assert route_count(sim, "create") == 2


async def test_delete_retried_after_5xx(sim, client):
    sim.seed([{"name": "d1", "state": "close"}])
    sim.faults(error_status=502, error_count=1, routes=["delete"])
    await client.delete("d1")
    assert route_count(sim, "delete") == 2
    assert (await client.probe("d1")).state is ProbeState.ABSENT


async def test_malformed_html_body(sim, client):
    sim.faults(malformed_count=1, routes=["fetchInstances"])
    with pytest.raises(MalformedResponseError) as info:
        await client.list_instances()
    assert str(info.value) == "malformed response: expected JSON, got text/html (GET /instance/fetchInstances)"
    assert route_count(sim, "fetchInstances") == 1
    assert await client.list_instances() == []


async def test_malformed_on_delete_and_probe(sim, client):
    sim.seed([{"name": "t1", "state": "close"}])
    sim.faults(malformed_count=2, routes=["delete", "connectionState"])
    with pytest.raises(MalformedResponseError):
        await client.probe("t1")
    with pytest.raises(MalformedResponseError):
        await client.delete("t1")


async def test_connection_refused_closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    async with EvolutionClient(f"http://127.0.0.1:{port}", "k-0123456789abc", retries=1, **FAST) as client:
        with pytest.raises(UnreachableError) as info:
            await client.probe("x")
    assert f"cannot reach Evolution API at http://127.0.0.1:{port}: connection refused" in str(info.value)
    assert "k-0123456789abc" not in str(info.value)


# ------------------------------------------------------------------ names


AWKWARD = ["a b", "a/b", "q?x", "h#1", "100%", "ünï", "trail ", "MixedCase", "a+b", "%2F"]


@pytest.mark.parametrize("name", AWKWARD)
async def test_awkward_name_round_trip(sim, client, name):
    created = await client.create(name)
    assert created.instance.name == name
    probe = await client.probe(name)
    assert probe.state is ProbeState.PRESENT, name
    assert (await client.fetch_instance(name)).name == name
    assert name in [i.name for i in await client.list_instances()]
    assert (await client.restart(name)).state is ProbeState.PRESENT
    with pytest.raises(NotConnectedError):
        await client.logout(name)
    await client.delete(name)
    assert (await client.probe(name)).state is ProbeState.ABSENT
    assert await client.list_instances() == []


async def test_names_are_case_sensitive(sim, client):
    await client.create("MixedCase")
    assert (await client.probe("mixedcase")).state is ProbeState.ABSENT
    with pytest.raises(NotFoundError):
        await client.fetch_instance("mixedcase")
    await client.create("mixedcase")
    assert sorted(i.name for i in await client.list_instances()) == ["MixedCase", "mixedcase"]
    await client.delete("mixedcase")
    assert (await client.probe("MixedCase")).state is ProbeState.PRESENT


async def test_trailing_space_is_kept(sim, client):
    await client.create("trail ")
    assert (await client.probe("trail")).state is ProbeState.ABSENT
    assert (await client.probe("trail ")).state is ProbeState.PRESENT


# ------------------------------------------------------------------ stats and secrets


async def test_stats_and_on_request(sim):
    events = []
    async with EvolutionClient(sim.url, sim.api_key, on_request=events.append, **FAST) as client:
        await client.create("s1")
        await client.list_instances()
        await client.delete("s1")
    # the first call that needs the dialect detects it once (GET /), then never again
    assert client.stats.requests == 4 == sim.stats()["total"]
    assert client.stats.by_op == {"server_info": 1, "create": 1, "list_instances": 1, "delete": 1}
    assert client.stats.bytes_in == sim.stats()["bytes_out"] > 0
    assert [(e.op, e.status) for e in events] == [
        ("server_info", 200), ("create", 201), ("list_instances", 200), ("delete", 200)]
    assert sum(e.bytes_in for e in events) == client.stats.bytes_in


async def test_secrets_never_in_errors(sim):
    created_token = None
    async with EvolutionClient(sim.url, sim.api_key, retries=0) as client:
        created = await client.create("sec1", token="instance-token-secret-1")
        created_token = created.token.get_secret_value()
        errors = []
        for call in (
            lambda: client.create("sec1", token="instance-token-secret-1"),
            lambda: client.delete("nope"),
            lambda: client.logout("sec1"),
            lambda: client.fetch_instance("nope"),
        ):
            with pytest.raises(Exception) as info:
                await call()
            errors.append(info.value)
        text = " ".join(str(e) + repr(e) for e in errors) + repr(client) + repr(created) + repr(created.instance)
    assert sim.api_key not in text
    assert created_token not in text
