"""Every real HTTP client shares one TLS context, which verifies as httpx's own would."""

from __future__ import annotations

import ssl

import httpx

from chatterm.catalogue.discovery import _default_client
from chatterm.config import Settings
from chatterm.network.stream import make_client
from chatterm.network.tls import tls_context
from chatterm.providers.registry import resolve_model


def context_of(client: httpx.AsyncClient) -> ssl.SSLContext:
    transport = client._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    context = transport._pool._ssl_context
    assert context is not None
    return context


async def test_clients_share_one_context_that_verifies_like_httpx() -> None:
    env = {"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k"}
    openai = resolve_model("openai:gpt-5-mini", Settings(), env=env)
    anthropic = resolve_model("anthropic:claude-x", Settings(), env=env)
    async with (
        make_client(openai) as first,
        make_client(anthropic) as second,
        _default_client(5.0) as listing,
    ):
        assert context_of(first) is context_of(second) is context_of(listing) is tls_context()
    context = tls_context()
    reference = httpx.create_ssl_context()
    assert context.verify_mode == reference.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname and reference.check_hostname
    assert context.minimum_version == reference.minimum_version
    assert len(context.get_ca_certs()) == len(reference.get_ca_certs())
