"""Masking helpers: `mask_token`, `mask_uri`, `scrub` and the length-indexed `SecretIndex`
that the Evolution client uses to scrub every instance token it has seen from error text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.evolution.client import EvolutionClient
from tui.secrets import SecretIndex, mask_token, mask_uri, scrub

ALPHABET = "ab-XY1"  # small, so that secrets overlap and repeat inside the texts


def test_mask_token_and_uri():
    assert mask_token("ABCDEFGH-1234") == "****1234"
    assert mask_token("short") == "****"
    assert mask_token(None) == ""
    assert mask_uri("mongodb://user:pa55@h1,h2/db") == "mongodb://user:****@h1,h2/db"
    assert mask_uri("mongodb://h1/db") == "mongodb://h1/db"


@settings(max_examples=300, deadline=None)
@given(secrets=st.lists(st.text(ALPHABET, min_size=0, max_size=9), max_size=8),
       filler=st.lists(st.text(ALPHABET + " ", max_size=6), max_size=6))
def test_index_finds_every_secret_that_occurs(secrets, filler):
    text = "".join(f"{a}{b}" for a, b in zip(filler, [*secrets, ""] * 2))
    index = SecretIndex(secrets[: len(secrets) // 2]).with_extra(secrets[len(secrets) // 2:])
    usable = {s for s in secrets if s and len(s) >= 4}
    assert index.found_in(text) == {s for s in usable if s in text}
    scrubbed = index.scrub(text)
    longest_first = sorted(usable, key=len, reverse=True)
    assert scrubbed == scrub(text, longest_first)


def test_index_scrubs_many_tokens_and_counts():
    tokens = [f"TOKEN-{i:06d}-ABCDEFGHIJ" for i in range(20_000)]
    index = SecretIndex(tokens)
    index.update(tokens[:10])  # repeats are not counted twice
    assert len(index) == 20_000
    both = index.with_extra(["global-api-key-xyz", None, "abc"])
    assert len(both) == 20_001  # None and the 3-character one are not secrets
    text = f'instance "{tokens[19_999]}" rejected key global-api-key-xyz'
    assert both.scrub(text) == 'instance "****GHIJ" rejected key ****-xyz'
    assert index.scrub("nothing secret here") == "nothing secret here"
    assert scrub(text, both) == both.scrub(text)


async def test_client_scrubs_tokens_of_a_large_server():
    """Before, the client remembered at most 4,096 tokens: later ones leaked into errors."""
    async with EvolutionClient("http://127.0.0.1:9", "global-key-0123") as client:
        client._remember(f"INSTANCE-TOKEN-{i:08d}" for i in range(6_000))
        message = client._malformed("GET /x", "echoed INSTANCE-TOKEN-00005999 back")
    assert "INSTANCE-TOKEN-00005999" not in str(message)
    assert "****5999" in str(message)
