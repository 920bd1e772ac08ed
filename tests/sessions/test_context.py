"""The context meter's arithmetic: the last reported input plus the answer sent back, and
estimates (four characters a token) for what came after, per the usage semantics every
translator normalizes to (input includes cached tokens; output includes reasoning)."""

from __future__ import annotations

import pytest

from chatterm.events import Usage
from chatterm.sessions.context import ContextUse, context_use, format_tokens, meter_text
from chatterm.sessions.model import Turn


def turn(
    prompt: str = "p" * 40,
    answer: str = "a" * 80,
    usage: Usage | None = None,
    finish: str = "stop",
) -> Turn:
    return Turn(
        prompt=prompt,
        model="openai:gpt-x",
        started="2026-12-07T10:00:00.000Z",
        answer=answer,
        finish_reason=finish,  # type: ignore[arg-type]
        usage=usage or Usage(),
    )


def test_nothing_reported_everything_is_estimated() -> None:
    use = context_use([turn(), turn()], "s" * 20, window=1000)
    # system 5, and each turn 10 + 20
    assert use == ContextUse(tokens=5 + 30 + 30, estimated=True, window=1000)


def test_the_last_reported_input_anchors_the_count() -> None:
    reported = Usage(input_tokens=1200, output_tokens=300, reasoning_tokens=100)
    use = context_use([turn(), turn(usage=reported)], None, window=10_000)
    # its input (the whole request before it) and its answer (output less reasoning)
    assert use == ContextUse(tokens=1200 + 200, estimated=False, window=10_000)


def test_what_came_after_and_the_next_prompt_are_estimated() -> None:
    reported = Usage(input_tokens=1200, output_tokens=300, reasoning_tokens=100)
    turns = [turn(usage=reported), turn()]  # the later one reported nothing
    use = context_use(turns, None, window=10_000, next_prompt="q" * 400)
    assert use == ContextUse(tokens=1400 + 30 + 100, estimated=True, window=10_000)


def test_cached_tokens_are_already_in_the_input() -> None:
    # Anthropic reports cache reads apart; the translator adds them to input_tokens.
    reported = Usage(input_tokens=5000, cached_input_tokens=4800, output_tokens=50)
    assert context_use([turn(usage=reported)], None, window=None).tokens == 5050


def test_an_estimated_or_failed_usage_does_not_anchor() -> None:
    estimated = Usage(input_tokens=999, output_tokens=10, estimated=True)
    failed = Usage(input_tokens=888, output_tokens=10)
    turns = [turn(usage=estimated), turn(usage=failed, finish="error", answer="")]
    use = context_use(turns, None, window=None)
    assert use.estimated and use.tokens == 30 + 10


def test_a_retried_failure_is_not_counted() -> None:
    failed = turn(prompt="same", answer="partial", finish="cancelled")
    again = turn(prompt="same", usage=Usage(input_tokens=100, output_tokens=20))
    assert context_use([failed, again], None, window=None).tokens == 120


@pytest.mark.parametrize(
    ("use", "text"),
    [
        (ContextUse(12_345, True, 200_000), "~12.3k / 200k · 6%"),
        (ContextUse(150, False, 1_000_000), "150 / 1M · <1%"),
        (ContextUse(0, False, 128_000), "0 / 128k · 0%"),
        (ContextUse(1_234, True, None), "~1.2k/? ctx"),
        (ContextUse(210_000, False, 200_000), "210k / 200k · 105%"),
    ],
)
def test_meter_text(use: ContextUse, text: str) -> None:
    assert meter_text(use) == text


def test_over_and_share() -> None:
    assert ContextUse(201, False, 200).over() and not ContextUse(200, False, 200).over()
    assert ContextUse(10, False, None).share is None and not ContextUse(10, False, None).over()
    assert format_tokens(1_050_000) == "1.05M" and format_tokens(999) == "999"


def test_attachments_count_an_estimate_in_the_next_request() -> None:
    from chatterm.attachments import make_attachment
    from chatterm.sessions.context import (
        IMAGE_TOKENS,
        PDF_BYTES_PER_PAGE,
        PDF_PAGE_TOKENS,
        attachment_tokens,
        pdf_pages,
    )

    text = make_attachment("a.txt", b"x" * 385)  # with its name and fence: 400 characters
    image = make_attachment("a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
    two_pages = make_attachment("a.pdf", b"%PDF-1.4 /Type /Pages /Type /Page /Type/Page %%EOF")
    assert attachment_tokens([text]) == 100
    assert attachment_tokens([image, image]) == 2 * IMAGE_TOKENS
    assert pdf_pages(two_pages.size, two_pages.data) == 2
    assert attachment_tokens([two_pages]) == 2 * PDF_PAGE_TOKENS
    assert pdf_pages(3 * PDF_BYTES_PER_PAGE + 1) == 4  # pages not readable: by size
    use = context_use([], None, window=10_000, next_prompt="q" * 400, next_attachments=[image])
    assert use.tokens == 100 + IMAGE_TOKENS and use.estimated
