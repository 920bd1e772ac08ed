"""Models discovered from the servers themselves, cached for a few minutes.

Which servers are asked:

- **Ollama** (``OLLAMA_HOST``, else the local server): ``GET /api/tags``, the models pulled
  on that machine. The local server not running is normal, so it is not reported as a
  problem unless ``OLLAMA_HOST`` names it; ollama.com is asked only with ``OLLAMA_API_KEY``.
- **Each ``[providers.NAME]``** of kind ``openai``: ``GET {base_url}/models`` with its key.
  Gateways (``kind = "gateway"``) have no listing endpoint and are not asked.
- **``OPENAI_BASE_URL``** when it points somewhere other than api.openai.com (a proxy or a
  local server standing in for OpenAI). OpenAI's own ``/v1/models`` is never asked: it lists
  every model of every kind (embeddings, audio, images, snapshots), hundreds of names, so the
  built-in catalogue's common models stand in for it. Anthropic and Gemini are not asked
  either, for the same reason.

Each list is cached in ``cache_dir()/models.json`` for :data:`CACHE_TTL_S` seconds, keyed by a
hash of the address (never the address itself, which may carry a key). :func:`discover` never
raises: a server that fails becomes a one-line note, with any key redacted.
:func:`cached_discovery` reads the cache without touching the network, so the TUI can show
models at once and refresh them in the background.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from chatterm import paths
from chatterm.config import Settings
from chatterm.errors import ChattermError
from chatterm.files import atomic_write, file_problem, read_regular
from chatterm.network import debuglog
from chatterm.network.tls import tls_context
from chatterm.providers.endpoint import error_detail, join_url
from chatterm.providers.ollama import (
    KEY_ENV as OLLAMA_KEY_ENV,
)
from chatterm.providers.ollama import (
    is_cloud_host,
    list_installed_models,
    parse_ollama_host,
)
from chatterm.text import one_line, redact
from chatterm.urls import credentials_of, has_credentials, host_of

CACHE_TTL_S = 600.0  # how long a server's list is used without asking again
DEFAULT_TIMEOUT_S = 2.0  # per server; servers are asked concurrently
MAX_MODELS = 2000  # per server: a relay listing more is cut short
CACHE_VERSION = 1
CACHE_LIMIT = 16 << 20  # 2,000 names for each of a few servers is well under 1 MB
_OPENAI_HOST = "api.openai.com"
# list_installed_models words a transport failure (nothing listening) this way.
_OLLAMA_UNREACHABLE = "cannot list Ollama models"

DiscoveryClientFactory = Callable[[], httpx.AsyncClient]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Target:
    """One server to ask for its models."""

    provider: str  # the prefix its models take: "ollama", "openai", a [providers.NAME]
    kind: Literal["ollama", "openai"]
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    quiet_when_down: bool = False  # the default local Ollama: not running is no news

    @property
    def cache_key(self) -> str:
        """The address (and whether a key is sent), hashed: the cache holds no secrets."""
        text = f"{self.kind} {self.base_url} {bool(self.api_key)}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def secrets(self) -> tuple[str, ...]:
        key = (self.api_key,) if self.api_key else ()
        return (*key, *credentials_of(self.base_url))


@dataclass(frozen=True, slots=True)
class Discovery:
    """What the servers said: model names per provider, and one note per server that failed.

    ``stale`` names the providers whose list is missing or older than the cache lifetime
    (after :func:`cached_discovery`: the ones worth asking again).
    """

    models: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    stale: frozenset[str] = frozenset()


def cache_file() -> Path:
    return paths.cache_dir() / "models.json"


def discovery_targets(settings: Settings, env: Mapping[str, str] | None = None) -> list[Target]:
    """The servers to ask, in the order their models are listed."""
    env = os.environ if env is None else env
    targets: list[Target] = []
    host = env.get("OLLAMA_HOST") or ""
    ollama_url = parse_ollama_host(host)
    if is_cloud_host(ollama_url):
        key = env.get(OLLAMA_KEY_ENV) or None
        if key:
            targets.append(Target("ollama", "ollama", ollama_url, key))
    else:
        targets.append(Target("ollama", "ollama", ollama_url, quiet_when_down=not host.strip()))
    openai_url = (env.get("OPENAI_BASE_URL") or "").strip().rstrip("/")
    if openai_url and host_of(openai_url) != _OPENAI_HOST:
        targets.append(Target("openai", "openai", openai_url, env.get("OPENAI_API_KEY") or None))
    for name in sorted(settings.providers):
        provider = settings.providers[name]
        if provider.kind != "openai":
            continue
        key = env.get(provider.api_key_env) if provider.api_key_env else None
        targets.append(Target(name, "openai", provider.base_url.rstrip("/"), key or None))
    return targets


async def list_openai_models(
    client: httpx.AsyncClient, base_url: str, *, api_key: str | None = None, name: str = ""
) -> list[str]:
    """The ids an OpenAI-compatible server lists at ``GET {base_url}/models``, in its order.

    Every failure is a :class:`ChattermError` with one line naming the server.
    """
    secrets = (api_key,) if api_key else ()
    where = redact(f"{name} at {base_url}" if name else base_url, secrets)
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        response = await client.get(join_url(base_url, "/models"), headers=headers)
    except httpx.HTTPError as exc:
        reason = one_line(redact(str(exc) or type(exc).__name__, secrets), 160)
        raise ChattermError(f"cannot list the models of {where} ({reason})") from None
    if not response.is_success:
        detail = error_detail(response.content, secrets)
        hint = " (check its API key)" if response.status_code in (401, 403) else ""
        message = f"HTTP {response.status_code} from {where} listing models"
        raise ChattermError(redact(message + (f": {detail}" if detail else "") + hint, secrets))
    try:
        data: Any = response.json()
    except ValueError:
        raise ChattermError(
            f"{where}/models did not answer JSON; is it an OpenAI-compatible server?"
        ) from None
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ChattermError(f"{where}/models answered without a model list (no data array)")
    return [
        entry["id"]
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]
    ]


def _ask(client: httpx.AsyncClient, target: Target) -> Coroutine[Any, Any, list[str]]:
    if target.kind == "ollama":
        return list_installed_models(client, target.base_url, api_key=target.api_key)
    return list_openai_models(client, target.base_url, api_key=target.api_key, name=target.provider)


async def _fetch(
    client: httpx.AsyncClient, target: Target, timeout: float
) -> tuple[tuple[str, ...] | None, str | None]:
    """(models, None) or (None, a note, or None when the failure is not worth one)."""
    secrets = target.secrets()
    if target.api_key and has_credentials(target.base_url):
        where = "OPENAI_BASE_URL" if target.provider == "openai" else "its base URL"
        return None, f"{target.provider}: {where} has a user name or password and a key: not asked"
    try:
        names = await asyncio.wait_for(_ask(client, target), timeout)
    except TimeoutError:
        if target.quiet_when_down:
            return None, None
        where = redact(target.base_url, secrets)
        return None, f"{target.provider} at {where} did not list its models within {timeout:g} s"
    except ChattermError as exc:
        message = str(exc)
        if target.quiet_when_down and message.startswith(_OLLAMA_UNREACHABLE):
            return None, None
        return None, one_line(redact(message, secrets))
    except Exception as exc:  # a server's odd answer must not stop the listing
        return None, one_line(redact(f"{target.provider}: {type(exc).__name__}: {exc}", secrets))
    # A "model" that is (or holds) a key would be shown and cached: never list it.
    names = [name for name in names if redact(name, secrets) == name]
    return tuple(dict.fromkeys(names))[:MAX_MODELS], None


def _default_client(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        event_hooks=debuglog.log_hooks(),
        verify=tls_context(),
    )


async def discover(
    settings: Settings,
    env: Mapping[str, str] | None = None,
    *,
    client_factory: DiscoveryClientFactory | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    refresh: bool = False,
    cache_path: Path | None = None,
    clock: Clock = time.time,
    max_age: float = CACHE_TTL_S,
) -> Discovery:
    """Ask every server that is not freshly cached (all of them with ``refresh``), at once,
    each for at most ``timeout`` seconds; update the cache. Never raises (cancellation
    aside): a failure is a note, and a server that failed is asked again next time."""
    try:
        targets = discovery_targets(settings, env)
        path = cache_path or cache_file()
        cache = _read_cache(path)
        now = clock()
        models: dict[str, tuple[str, ...]] = {}
        notes: dict[str, str] = {}
        wanted: list[Target] = []
        for target in targets:
            cached = _fresh(cache.get(target.provider), target, now, max_age)
            if cached is not None and not refresh:
                models[target.provider] = cached
            else:
                wanted.append(target)
        if wanted:
            factory = client_factory or (lambda: _default_client(timeout))
            async with factory() as client:
                outcomes = await asyncio.gather(*(_fetch(client, t, timeout) for t in wanted))
            for target, (names, note) in zip(wanted, outcomes, strict=True):
                if names is None:
                    cache.pop(target.provider, None)
                    if note:
                        notes[target.provider] = note
                    continue
                models[target.provider] = names
                cache[target.provider] = {
                    "source": target.cache_key,
                    "fetched": now,
                    "models": list(names),
                }
            problem = _write_cache(path, cache)
            if problem:
                notes["cache"] = problem
        ordered = {t.provider: models[t.provider] for t in targets if t.provider in models}
        return Discovery(ordered, notes)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return Discovery(notes={"discovery": one_line(f"model discovery failed: {exc}")})


def cached_discovery(
    settings: Settings,
    env: Mapping[str, str] | None = None,
    *,
    cache_path: Path | None = None,
    clock: Clock = time.time,
    max_age: float = CACHE_TTL_S,
) -> Discovery:
    """The cached lists of the servers in the settings, however old, with no network;
    ``stale`` names the servers to ask again. Never raises."""
    try:
        targets = discovery_targets(settings, env)
        cache = _read_cache(cache_path or cache_file())
        now = clock()
        models: dict[str, tuple[str, ...]] = {}
        stale: set[str] = set()
        for target in targets:
            entry = cache.get(target.provider)
            names = _fresh(entry, target, now, float("inf"))
            if names is not None:
                models[target.provider] = names
            if _fresh(entry, target, now, max_age) is None:
                stale.add(target.provider)
        return Discovery(models, {}, frozenset(stale))
    except Exception as exc:
        return Discovery(notes={"discovery": one_line(f"cannot read the model cache: {exc}")})


def _fresh(entry: Any, target: Target, now: float, max_age: float) -> tuple[str, ...] | None:
    """The cached names when ``entry`` is for this address and younger than ``max_age``."""
    if not isinstance(entry, dict) or entry.get("source") != target.cache_key:
        return None
    fetched, names = entry.get("fetched"), entry.get("models")
    if not isinstance(fetched, int | float) or not isinstance(names, list):
        return None
    age = now - fetched
    if age < 0 or age >= max_age:  # a clock set back is not "fresh" either
        return None
    return tuple(n for n in names if isinstance(n, str) and n)[:MAX_MODELS]


def _read_cache(path: Path) -> dict[str, Any]:
    """The cache's providers table; a missing or damaged cache is an empty one."""
    try:
        data = json.loads(read_regular(path, limit=CACHE_LIMIT))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict) or data.get("chatterm_models_cache") != CACHE_VERSION:
        return {}
    providers = data.get("providers")
    return dict(providers) if isinstance(providers, dict) else {}


def _write_cache(path: Path, providers: dict[str, Any]) -> str | None:
    document = {"chatterm_models_cache": CACHE_VERSION, "providers": providers}
    # "replace": a server's model name may hold a lone surrogate (a valid JSON escape).
    data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8", "replace")
    try:
        atomic_write(path, data, durable=False)  # a cache: losing it costs one request
    except OSError as exc:
        return f"cannot write the model cache {path}: {file_problem(exc)}"
    return None
