"""``chatterm ask -a FILE``: files sent with the prompt, at the fake server, the way the
model's API takes them; ``-a -`` reads the attachment from stdin; refusals before sending."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from tests.cli.test_cli_ask_sessions import ask, server  # noqa: F401
from tests.fake_provider.server import FakeServer
from tests.providers.test_attachment_requests import PDF, png


def test_an_image_and_a_text_file_reach_the_server(
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    (tmp_path / "shot.png").write_bytes(png())
    (tmp_path / "notes.md").write_text("# Notes\n")
    code, out, err = ask(
        capsys,
        "-m",
        "openai:gpt-4.1",
        "-a",
        str(tmp_path / "shot.png"),
        "-a",
        str(tmp_path / "notes.md"),
        "--json",
        "What is this?",
    )
    assert code == 0, err
    [message] = server.requests[-1].json["messages"]
    text, image = message["content"]
    assert text == {"type": "text", "text": "notes.md:\n```\n# Notes\n```\n\nWhat is this?"}
    url = "data:image/png;base64," + base64.b64encode(png()).decode()
    assert image == {"type": "image_url", "image_url": {"url": url}}


def test_stdin_as_the_attachment(
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(png()))
    monkeypatch.setattr("sys.stdin", stdin)
    code, _, err = ask(capsys, "-m", "openai:gpt-4.1", "-a", "-", "Describe it")
    assert code == 0, err
    content = server.requests[-1].json["messages"][-1]["content"]
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    ("files", "args", "words"),
    [
        ({"paper.pdf": PDF}, ["-m", "openai:gpt-4.1"], ["paper.pdf", "takes no PDFs"]),
        ({"blob.bin": b"\x00\x01binary"}, [], ["blob.bin", "neither an image"]),
        ({}, ["-a", "missing.png"], ["missing.png", "no such file"]),
    ],
)
def test_refused_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, bytes],
    args: list[str],
    words: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    attach = [arg for name in files for arg in ("-a", name)]
    code, out, err = ask(capsys, *attach, *args, "hi")
    assert code == 2 and out == "" and err.count("\n") == 1
    for word in words:
        assert word in err
    assert not server.requests


def test_stdin_cannot_be_both_prompt_and_attachment(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = ask(capsys, "-a", "-")
    assert code == 2 and "give the prompt as an argument" in err
    assert json.dumps(err)  # one line


def test_the_demo_says_what_it_was_sent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated_home: Path
) -> None:
    (tmp_path / "shot.png").write_bytes(png())
    code, out, err = ask(capsys, "-m", "demo:fast", "-a", str(tmp_path / "shot.png"), "Look")
    assert code == 0, err
    assert "You attached 1 image" in out


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        ("openai-responses:gpt-5-mini", ("input", -1, "content")),
        ("anthropic:claude-fake-test", ("messages", -1, "content")),
        ("gemini:gemini-2.5-flash", ("contents", -1, "parts")),
        ("ollama:llava", ("messages", -1)),
    ],
)
def test_each_api_gets_the_image_in_its_own_parts_at_the_server(
    capsys: pytest.CaptureFixture[str],
    fake_server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    ref: str,
    path: tuple[object, ...],
) -> None:
    """The request each API's server received (its own route, its key checked), carrying
    the image as that API's part: Responses input_image, Anthropic image block, Gemini
    inline_data, Ollama images."""
    from tests.test_providers_e2e import provider_env

    for name, value in provider_env(fake_server).items():
        monkeypatch.setenv(name, value)
    (tmp_path / "shot.png").write_bytes(png())
    code, _, err = ask(capsys, "-m", ref, "-a", str(tmp_path / "shot.png"), "--json", "Look")
    assert code == 0, err
    found: object = fake_server.requests[-1].json
    for key in path:
        found = found[key]  # type: ignore[index]
    encoded = base64.b64encode(png()).decode()
    expected = {
        "openai-responses": {
            "type": "input_image",
            "image_url": "data:image/png;base64," + encoded,
        },
        "anthropic": {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": encoded},
        },
        "gemini": {"inline_data": {"mime_type": "image/png", "data": encoded}},
    }
    kind = ref.split(":")[0]
    if kind == "ollama":
        assert found["images"] == [encoded]  # type: ignore[index]
    else:
        assert expected[kind] in found  # type: ignore[operator]
