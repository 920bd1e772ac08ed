"""Attachments in each API's request, and the refusals made before anything is sent.

Text files travel as fenced text in every API; images and PDFs as each API's own parts. The
Chat Completions, Responses and Anthropic bodies are also compared with what the official
SDKs send for the same content (the SDKs' own serialisation, captured from a mock
transport), so chatterm's request is the one an SDK user would make.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import pytest

from chatterm.attachments import AttachmentError, image_size, make_attachment, read_attachment
from chatterm.config import ProviderConfig, Settings
from chatterm.events import Attachment, Conversation, Message
from chatterm.providers.attachment_parts import text_with_files
from chatterm.providers.registry import ResolvedModel, resolve_model
from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import FakeServer

ENV = {
    "OPENAI_API_KEY": "sk-test",
    "ANTHROPIC_API_KEY": "sk-ant-test",
    "GEMINI_API_KEY": "gm-test",
    "DEEPSEEK_API_KEY": "ds-test",
}


def png(width: int = 2, height: int = 3) -> bytes:
    """A valid PNG of ``width`` × ``height`` grey pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
IMAGE = make_attachment("shot.png", png())
DOCUMENT = make_attachment("paper.pdf", PDF)
SOURCE = make_attachment("main.py", b"print('```')\n")


DEEPSEEK = ProviderConfig(
    name="ds", base_url="https://api.deepseek.com", api_key_env="DEEPSEEK_API_KEY"
)


def target(ref: str, settings: Settings | None = None) -> ResolvedModel:
    return resolve_model(ref, settings or Settings(providers={"ds": DEEPSEEK}), ENV)


def body_of(ref: str, *attachments: Attachment, settings: Settings | None = None) -> Any:
    model = target(ref, settings)
    conversation = Conversation(
        messages=(
            Message("user", "earlier"),
            Message("assistant", "an answer"),
            Message("user", "What is in these?", attachments),
        )
    )
    request = model.provider.build_request(model.model, conversation)
    return json.loads(request.content)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- text files -------------------------------------------------------------------------------


def test_a_text_file_goes_before_the_prompt_in_a_fence_it_cannot_close() -> None:
    text = text_with_files(Message("user", "Review it.", (SOURCE,)))
    assert text == "main.py:\n````\nprint('```')\n````\n\nReview it."


@pytest.mark.parametrize(
    "ref",
    ["openai:gpt-4.1", "anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-flash", "ollama:llama3"],
)
def test_text_files_are_text_in_every_api(ref: str) -> None:
    sent = json.dumps(body_of(ref, SOURCE))
    assert "main.py:" in sent and "Review" not in sent and "What is in these?" in sent


# -- each API's parts -------------------------------------------------------------------------


def test_chat_completions_sends_image_url_parts() -> None:
    last = body_of("openai:gpt-4.1", IMAGE)["messages"][-1]
    assert last == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in these?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + b64(png())}},
        ],
    }
    assert body_of("openai:gpt-4.1")["messages"][-1]["content"] == "What is in these?"


def test_responses_sends_input_image_and_input_file() -> None:
    last = body_of("openai:gpt-5-mini", IMAGE, DOCUMENT)["input"][-1]
    assert last["content"] == [
        {"type": "input_text", "text": "What is in these?"},
        {"type": "input_image", "image_url": "data:image/png;base64," + b64(png())},
        {
            "type": "input_file",
            "filename": "paper.pdf",
            "file_data": "data:application/pdf;base64," + b64(PDF),
        },
    ]


def test_anthropic_sends_image_and_document_blocks_before_the_text() -> None:
    last = body_of("anthropic:claude-sonnet-4-5", IMAGE, DOCUMENT)["messages"][-1]
    assert last["content"] == [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": b64(png())},
        },
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)},
        },
        {"type": "text", "text": "What is in these?"},
    ]


def test_gemini_sends_inline_data_parts() -> None:
    last = body_of("gemini:gemini-2.5-flash", IMAGE, DOCUMENT)["contents"][-1]
    assert last["parts"] == [
        {"text": "What is in these?"},
        {"inline_data": {"mime_type": "image/png", "data": b64(png())}},
        {"inline_data": {"mime_type": "application/pdf", "data": b64(PDF)}},
    ]


def test_ollama_sends_images_on_the_message() -> None:
    last = body_of("ollama:llava", IMAGE)["messages"][-1]
    assert last == {"role": "user", "content": "What is in these?", "images": [b64(png())]}


# -- the official SDKs send the same ----------------------------------------------------------


def captured(server: FakeServer, send: Any) -> Any:
    """The JSON body an SDK call sent to the fake server (which streams a reply back)."""
    before = len(server.requests)
    for _ in send(server.base_url):
        pass
    assert len(server.requests) == before + 1
    return json.loads(server.requests[-1].body)


def test_chat_completions_matches_the_openai_sdk(fake_server: FakeServer) -> None:
    import openai

    ours = body_of("openai:gpt-4.1", IMAGE)["messages"][-1]
    sdk = captured(
        fake_server,
        lambda url: openai.OpenAI(
            api_key=API_KEY, base_url=url + "/v1", max_retries=0
        ).chat.completions.create(model="gpt-4.1", messages=[ours], stream=True),
    )
    assert sdk["messages"] == [ours]


def test_responses_matches_the_openai_sdk(fake_server: FakeServer) -> None:
    import openai

    ours = body_of("openai:gpt-5-mini", IMAGE, DOCUMENT)["input"][-1]
    sdk = captured(
        fake_server,
        lambda url: openai.OpenAI(
            api_key=API_KEY, base_url=url + "/v1", max_retries=0
        ).responses.create(model="gpt-5-mini", input=[ours], stream=True),
    )
    assert sdk["input"] == [ours]


def test_anthropic_matches_the_anthropic_sdk(fake_server: FakeServer) -> None:
    import anthropic

    ours = body_of("anthropic:claude-sonnet-4-5", IMAGE, DOCUMENT)["messages"][-1]
    sdk = captured(
        fake_server,
        lambda url: anthropic.Anthropic(
            api_key=API_KEY, base_url=url, max_retries=0
        ).messages.create(model="claude-fake-test", max_tokens=100, messages=[ours], stream=True),
    )
    assert sdk["messages"] == [ours]


# -- refusals before sending ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "attachments", "words"),
    [
        ("openai:gpt-4.1", (DOCUMENT,), ["paper.pdf", "takes no PDFs"]),
        ("ollama:llava", (DOCUMENT,), ["takes no PDFs"]),
        ("ds:deepseek-chat", (IMAGE,), ["cannot see images", "shot.png"]),
        ("openai:o3-mini", (IMAGE,), ["cannot see images"]),
        (
            "anthropic:claude-sonnet-4-5",
            (make_attachment("big.png", png(9000, 10)),),
            ["9000×10", "8000 pixels"],
        ),
        (
            "anthropic:claude-sonnet-4-5",
            (make_attachment("huge.png", png() + b"\0" * (5 << 20)),),
            ["huge.png", "5.0 MB limit"],
        ),
    ],
)
def test_what_a_model_cannot_take_is_refused_in_one_line(
    ref: str, attachments: tuple[Attachment, ...], words: list[str]
) -> None:
    model = target(ref)
    problem = model.provider.attachments_problem(model.ref, attachments)
    assert problem is not None and "\n" not in problem and problem.startswith(model.ref)
    for word in words:
        assert word in problem
    conversation = Conversation(messages=(Message("user", "hi", attachments),))
    with pytest.raises(Exception, match="cannot|over|takes no"):
        model.provider.build_request(model.model, conversation)


def test_the_gateway_takes_text_only() -> None:
    settings = Settings(
        providers={"gw": ProviderConfig(name="gw", base_url="http://127.0.0.1:9/", kind="gateway")}
    )
    model = target("gw:svc/model", settings)
    assert model.provider.attachments_problem(model.ref, (SOURCE,)) is None
    problem = model.provider.attachments_problem(model.ref, (IMAGE,))
    assert problem is not None and "takes no images" in problem
    sent = json.dumps(body_of("gw:svc/model", SOURCE, settings=settings))
    assert "main.py:" in sent


def test_a_model_that_sees_images_takes_them() -> None:
    for ref in ("openai:gpt-4o", "anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-flash"):
        model = target(ref)
        assert model.provider.attachments_problem(model.ref, (IMAGE, SOURCE)) is None


# -- reading files ----------------------------------------------------------------------------


def test_kinds_are_told_from_the_bytes(tmp_path: Any) -> None:
    (tmp_path / "notes.bin").write_bytes("naïve text\n".encode())
    (tmp_path / "picture.txt").write_bytes(png())
    (tmp_path / "blob.png").write_bytes(b"\x00\x01\x02binary")
    assert read_attachment(tmp_path / "notes.bin").kind == "text"
    assert read_attachment(tmp_path / "picture.txt").media_type == "image/png"
    with pytest.raises(AttachmentError, match="neither an image"):
        read_attachment(tmp_path / "blob.png")
    with pytest.raises(AttachmentError, match="no such file"):
        read_attachment(tmp_path / "missing.png")


def test_image_sizes_from_each_header() -> None:
    assert image_size(png(640, 480)) == (640, 480)
    assert image_size(b"GIF89a" + struct.pack("<HH", 32, 16) + b"\0" * 8) == (32, 16)
    jpeg = (
        b"\xff\xd8"
        + b"\xff\xe0"
        + struct.pack(">H", 16)
        + b"JFIF\0"
        + b"\0" * 9
        + b"\xff\xc0"
        + struct.pack(">HBHH", 17, 8, 600, 800)
        + b"\0" * 10
    )
    assert image_size(jpeg) == (800, 600)
    vp8x = (
        b"RIFF"
        + b"\0" * 4
        + b"WEBPVP8X"
        + b"\0" * 8
        + (99).to_bytes(3, "little")
        + (49).to_bytes(3, "little")
    )
    assert image_size(vp8x) == (100, 50)
    assert image_size(b"not an image") is None
