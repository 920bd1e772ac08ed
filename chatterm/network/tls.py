"""One TLS context for every HTTP client of the process.

httpx builds a new :class:`ssl.SSLContext` for each client it makes, loading the whole CA
bundle every time, the slowest part of making a client (README, Development). chatterm
makes a client per provider in the TUI and one per server when it lists models, and the
tests make hundreds; they all verify against the same bundle, so it is loaded once (an
``SSLContext`` is safe to share between clients and threads). Built as httpx builds it
(certifi's bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set), on first use.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context, made on first use."""
    return httpx.create_ssl_context()
