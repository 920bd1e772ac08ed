"""Ollama's native ``/api/chat``: newline-delimited JSON, one object per line.
Documented at https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion.

Reasoning arrives in ``message.thinking``, the answer in ``message.content`` (read on every
line, the ``done`` line included), usage and the server's own generation speed on the final
``done: true`` object. Errors are ``{"error": "<string>"}``, both as an HTTP body and as a
line in the middle of a 200 stream.

The address comes from ``OLLAMA_HOST``, read the way Ollama itself reads it: ``0.0.0.0``,
``myhost``, ``myhost:8080``, ``https://host`` and ``[::1]`` are all accepted. A local server
bills nobody; only ollama.com wants a key (``OLLAMA_API_KEY``, sent as a bearer token).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chatterm.decode.ndjson import NDJSONDecoder, NDJSONLine
from chatterm.errors import ChattermError
from chatterm.events import (
    Conversation,
    Event,
    Finish,
    FinishReason,
    ReasoningDelta,
    StreamError,
    TextDelta,
    Usage,
)
from chatterm.providers.attachment_parts import IMAGES, AttachmentRules, ollama_images
from chatterm.providers.base import Provider, WireFormat, chat_messages, requested_effort
from chatterm.providers.endpoint import Endpoint, error_detail, join_url
from chatterm.providers.json_values import (
    MAX_NANOSECONDS,
    count0,
    json_text,
    message_from_error_object,
)
from chatterm.providers.model_facts import model_info
from chatterm.providers.parsing import (
    GuardedParser,
    SkipTally,
    ended_early,
    object_or_skipped,
    usage_update,
)
from chatterm.text import one_line, redact
from chatterm.urls import host_of

if TYPE_CHECKING:
    import httpx

DEFAULT_PORT = 11434
DEFAULT_HOST = f"http://127.0.0.1:{DEFAULT_PORT}"
CLOUD_HOST = "ollama.com"
KEY_ENV = "OLLAMA_API_KEY"

# done_reason values: "load"/"unload" answer empty load/unload requests; "" is what the
# server sends for a reason it does not name. None of them cut the reply short.
_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "load": "stop",
    "unload": "stop",
    "": "stop",
}
# Keys every line of Ollama's stream has one of: a body with none is something else.
_KEYS = ("message", "done", "error", "model", "created_at")
_NOT_FOUND_MODEL = re.compile(r"model ['\"]?([^'\"\s]+)['\"]? not found")
_UNSET_KEY = (
    "{key_env} is not set: export {key_env}=… to use ollama.com, "
    "or unset OLLAMA_HOST to use the local server"
)


def takes_think_levels(model: str) -> bool:
    """GPT-OSS takes ``think`` as "low" / "medium" / "high" (Ollama's thinking docs); other
    thinking models take true / false, and an unknown level only gets their default."""
    return model.lower().rsplit("/", 1)[-1].startswith("gpt-oss")


def parse_ollama_host(value: str | None) -> str:
    """The base URL for ``OLLAMA_HOST``, read as Ollama and its Python client read it.

    No scheme means ``http`` and port 11434 (``0.0.0.0`` -> ``http://0.0.0.0:11434``);
    ``http://host`` and ``https://host`` mean ports 80 and 443; a path is kept, a trailing
    slash is not. A bare ``ollama.com`` means the cloud API over https.
    """
    text = (value or "").strip().strip("\"'").strip()
    scheme, sep, rest = text.partition("://")
    port = DEFAULT_PORT
    if not sep:
        scheme, rest = "http", text
        if rest.rstrip("/").lower() == CLOUD_HOST:
            scheme, port = "https", 443
    elif scheme == "http":
        port = 80
    elif scheme == "https":
        port = 443
    try:
        split = urlsplit(f"{scheme}://{rest.rstrip('/')}")
        host = split.hostname or "127.0.0.1"
    except ValueError:  # an unreadable address: Ollama's own default, as for a bad port
        split, host = urlsplit(f"{scheme}://127.0.0.1"), "127.0.0.1"
    try:
        port = split.port or port
    except ValueError:  # not a number, or out of range: Ollama falls back to the default
        pass
    if ":" in host:
        host = f"[{host}]"
    default = (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
    netloc = host if default else f"{host}:{port}"
    query = f"?{split.query}" if split.query else ""  # kept: requests add their path before it
    return f"{scheme}://{netloc}{split.path.rstrip('/')}{query}"


def is_cloud_host(base_url: str) -> bool:
    host = host_of(base_url)
    return host == CLOUD_HOST or host.endswith("." + CLOUD_HOST)


def usage_from_ollama(raw: Mapping[str, Any]) -> Usage:
    """Token counts and the server's generation speed from the final ``done`` object.

    Every metric is omitted when zero (``prompt_eval_count`` when the prompt came from the
    KV cache), so each defaults to 0. Durations are nanoseconds.
    """
    output = count0(raw.get("eval_count"))
    duration = count0(raw.get("eval_duration"), MAX_NANOSECONDS)
    speed = output / duration * 1e9 if output > 0 and duration > 0 else None
    return Usage(
        input_tokens=count0(raw.get("prompt_eval_count")),
        output_tokens=output,
        server_tokens_per_s=speed,
    )


class OllamaChatTranslator:
    """Turns ``/api/chat`` NDJSON lines into normalized events."""

    def __init__(self, secrets: tuple[str, ...] = (), skips: SkipTally | None = None) -> None:
        self._secrets = secrets
        self._skips = skips or SkipTally(secrets)
        self._done = False
        self._failed = False
        self._tool_calls = False
        self.recognized = False  # a line was an object of Ollama's (with a key it sends)

    def feed(self, line: str) -> list[Event]:
        if self._done or self._failed:
            return []
        data = object_or_skipped(line, self._skips)
        if isinstance(data, list):
            return data
        if not self.recognized:
            self.recognized = any(key in data for key in _KEYS)
        if data.get("error"):
            return self._error(data)
        events: list[Event] = []
        message = data.get("message")
        if isinstance(message, dict):
            thinking = message.get("thinking")
            if isinstance(thinking, str) and thinking:
                events.append(ReasoningDelta(thinking))
            content = message.get("content")
            if isinstance(content, str) and content:
                events.append(TextDelta(content))
            tool_calls = message.get("tool_calls")
            if isinstance(tool_calls, list) and tool_calls:
                self._tool_calls = True
        done = data.get("done")
        if done is True:
            self._done = True
            # No counts at all (or only junk): none is sent, and the accumulator estimates.
            events.extend(usage_update(usage_from_ollama(data)))
            reason = data.get("done_reason")
            finish = _FINISH.get(reason, "stop") if isinstance(reason, str) else "stop"
            if self._tool_calls and finish == "stop":
                finish = "tool_calls"
            events.append(Finish(finish))
        elif not isinstance(message, dict) and done is not False:
            events.append(self._skips.add("unknown_shape", line))
        return events

    def close(self) -> list[Event]:
        if self._done or self._failed:
            return []
        return ended_early("Ollama finished (no done line)")

    def _error(self, data: dict[str, Any]) -> list[Event]:
        self._failed = True
        message = message_from_error_object(data) or json_text(data.get("error"))
        return [
            StreamError(one_line(redact(f"error from Ollama: {message}", self._secrets))),
            Finish("error"),
        ]


class OllamaChatParser(GuardedParser):
    """NDJSON decoder plus translator: response body bytes in, events out."""

    stream_kind = "a stream of JSON lines"
    stream_types = ("ndjson", "json")

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(secrets)
        self.decoder: NDJSONDecoder = NDJSONDecoder()
        self.translator = OllamaChatTranslator(secrets, self.skips)

    def _feed(self, chunk: bytes) -> list[Event]:
        return self._translate(self.decoder.feed_lines(chunk))

    def _drain(self) -> list[Event]:
        return self._translate(self.decoder.flush_lines())

    def _translate(self, lines: list[NDJSONLine]) -> list[Event]:
        events: list[Event] = []
        for line in lines:
            events.extend(self.translator.feed(line.text))
            if line.invalid_utf8 or line.oversized:
                events.extend(self._bad_lines(line.invalid_utf8, line.oversized))
        return events

    def _framed(self) -> bool:
        return self.translator.recognized

    def _end(self) -> list[Event]:
        return self.translator.close()


class OllamaChatFormat(WireFormat):
    """``POST {base_url}/api/chat``, the stream read by :class:`OllamaChatParser`.

    It remembers the model last asked for, to name it in the hint for a 404.
    """

    kind = "ollama"
    attachment_rules = AttachmentRules("Ollama's chat API", IMAGES)
    headers = {"Accept": "application/x-ndjson", "Content-Type": "application/json"}

    def __init__(self) -> None:
        self._last_model: str | None = None

    def url(self, endpoint: Endpoint, model: str) -> str:
        return join_url(endpoint.base_url, "/api/chat")

    def build_request(
        self, endpoint: Endpoint, model: str, conversation: Conversation
    ) -> httpx.Request:
        self._last_model = model
        return super().build_request(endpoint, model, conversation)

    def request_body(
        self, endpoint: Endpoint, model: str, conversation: Conversation
    ) -> dict[str, Any]:
        messages = chat_messages(conversation)
        offset = len(messages) - len(conversation.messages)  # the system prompt first
        for message, sent in zip(conversation.messages, messages[offset:], strict=True):
            images = ollama_images(message)
            if images:
                sent["images"] = images
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
        level = requested_effort(conversation)
        if model_info("ollama", model).reasoning:
            # Thinking is on by default for capable models, so "off" must be said explicitly;
            # a model without the capability answers 400 to any `think`, so it gets none.
            body["think"] = conversation.reasoning
            if level is not None and takes_think_levels(model):
                # GPT-OSS cannot stop reasoning: off is its shortest trace.
                body["think"] = "low" if level == "off" else level
        if conversation.max_tokens:
            body["options"] = {"num_predict": conversation.max_tokens}
        return body

    def new_parser(self, secrets: tuple[str, ...]) -> OllamaChatParser:
        return OllamaChatParser(secrets)

    def describe_http_error(self, endpoint: Endpoint, status: int, body: bytes) -> str:
        detail = error_detail(body, endpoint.secrets())
        hint = self._hint(endpoint, status, detail)
        return endpoint.describe_http_error(status, body, detail=detail, hint=hint)

    def _hint(self, endpoint: Endpoint, status: int, detail: str) -> str:
        if status == 404:
            found = _NOT_FOUND_MODEL.search(detail)
            model = found.group(1) if found else self._last_model or "MODEL"
            if is_cloud_host(endpoint.base_url):
                return f"check the model name {model}"
            return f"run `ollama pull {model}`, or check the model name"
        if status == 400 and "does not support thinking" in detail:
            return "turn reasoning off for this model"
        return endpoint.status_hint(status)


class OllamaProvider(Provider):
    """An Ollama server: the local one by default, ``OLLAMA_HOST`` or ollama.com."""

    def __init__(self, host: str | None = None, api_key: str | None = None) -> None:
        base_url = parse_ollama_host(host)
        self.cloud = is_cloud_host(base_url)
        endpoint = Endpoint(
            "ollama",
            base_url,
            # The key goes to ollama.com only: a local server needs none and must not see it.
            (api_key or None) if self.cloud else None,
            KEY_ENV,
            local=not self.cloud,
            key_optional=not self.cloud,
            unset_key=_UNSET_KEY,
            key_hint=None if self.cloud else "check OLLAMA_HOST",
            server="{name} at {base_url}",
        )
        super().__init__(endpoint, OllamaChatFormat())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OllamaProvider:
        env = os.environ if env is None else env
        return cls(env.get("OLLAMA_HOST"), env.get(KEY_ENV))


async def list_installed_models(
    client: httpx.AsyncClient, host: str, *, api_key: str | None = None
) -> list[str]:
    """Names of the models the server has (``GET /api/tags``), in the server's order.

    ``host`` is an ``OLLAMA_HOST`` value or a base URL. Every failure is a
    :class:`ChattermError` with one line naming the address and the likely fix.
    """
    import httpx  # imported when first needed: it costs start-up ~15 ms

    base_url = parse_ollama_host(host)
    secrets = (api_key,) if api_key else ()
    headers = {"Accept": "application/json"}
    if api_key and is_cloud_host(base_url):
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        response = await client.get(join_url(base_url, "/api/tags"), headers=headers)
    except httpx.HTTPError as exc:
        reason = one_line(redact(str(exc) or type(exc).__name__, secrets), 160)
        raise ChattermError(
            f"cannot list Ollama models at {base_url} ({reason}); is `ollama serve` running? "
            "Set OLLAMA_HOST if it listens elsewhere"
        ) from None
    if not response.is_success:
        detail = error_detail(response.content, secrets)
        message = f"HTTP {response.status_code} from ollama at {base_url} listing models"
        raise ChattermError(redact(message + (f": {detail}" if detail else ""), secrets))
    try:
        data: Any = response.json()
    except (ValueError, RecursionError):
        raise ChattermError(
            f"{base_url}/api/tags did not answer JSON; is OLLAMA_HOST an Ollama server?"
        ) from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        raise ChattermError(
            f"{base_url}/api/tags answered without a model list; is it an Ollama server?"
        )
    names: list[str] = []
    for entry in models:
        if isinstance(entry, dict):
            name = entry.get("name") or entry.get("model")
            if isinstance(name, str) and name:
                names.append(name)
    return names
