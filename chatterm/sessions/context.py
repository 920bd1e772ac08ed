"""How full a conversation is: its size in tokens against the model's context window.

The next request holds the system prompt, the history (:func:`~chatterm.sessions.model.
sent_turns`) and the new prompt. The last sent reply whose server reported its input tokens
anchors the count: those input tokens (that whole request, cached or not: every translator
normalizes ``input_tokens`` so) plus its answer, which the next request sends back (its
reasoning is not: output tokens less reasoning tokens). After a summary (compaction) the
history starts at the summary, which is estimated. What came after it (turns with no
reported usage) and the prompt being sent are estimated at about four characters a token,
and the count says it is estimated. With no reported usage at all, everything is estimated.

Attached files are estimated by :func:`attachment_tokens` (a text file by its characters, an
image and a PDF page at a fixed size): a reply's reported input already counts those it
was sent with.

Counts from one model's tokenizer stand for another's after a model switch: the meter is a
guide to how close the limit is, and a request is refused only when it is over the window.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from chatterm.events import CLEAN_FINISHES, Attachment, AttachmentKind, estimate_tokens
from chatterm.sessions.model import Turn, sent_turns

#: What a summary (compaction) asks the model: the summary stands in for the conversation.
COMPACT_PROMPT = (
    "Summarize our conversation so far, to stand in for it from now on: the goal, what was "
    "decided and why, the facts, names, numbers, code and file names that matter, and what "
    "is still open. Write it as notes for yourself to continue from, without pleasantries."
)


#: An image's input tokens, estimated: providers count an image by its pixels once scaled
#: to their limit (Anthropic about width × height / 750, at most about 1,600 for the 1.15
#: megapixels it scales to; OpenAI 85 plus 170 a 512-pixel tile), so a screenshot comes
#: close to this.
IMAGE_TOKENS = 1_600
#: A PDF page's input tokens, estimated: providers send a page as its text and an image of
#: it (Anthropic documents 1,500 to 3,000 tokens a page, text and image together).
PDF_PAGE_TOKENS = 2_000
#: Bytes a PDF page is taken to hold when its pages cannot be counted from the file.
PDF_BYTES_PER_PAGE = 3 * 1024
# A page object (``/Type /Page``, not ``/Pages``); compressed object streams hide them.
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


class AttachedFile(Protocol):
    """What the estimate needs of a file attached: an :class:`~chatterm.events.Attachment`
    (its bytes at hand) or a turn's record of one (its kind and size only)."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> AttachmentKind: ...

    @property
    def size(self) -> int: ...


def pdf_pages(size: int, data: bytes | None = None) -> int:
    """The pages of a PDF of ``size`` bytes: counted from its page objects when its
    ``data`` is at hand and they are readable there, else one a
    :data:`PDF_BYTES_PER_PAGE` (at least one)."""
    pages = len(_PDF_PAGE.findall(data)) if data is not None else 0
    return pages or max(1, -(-size // PDF_BYTES_PER_PAGE))


def attachment_tokens(attachments: Iterable[AttachedFile]) -> int:
    """The input tokens ``attachments`` add to a request, estimated: a text file by its
    characters (about four a token, with its name and the fence around it; its bytes
    when only its size is known), an image :data:`IMAGE_TOKENS`, a PDF
    :data:`PDF_PAGE_TOKENS` a page."""
    tokens = 0
    for attachment in attachments:
        data = attachment.data if isinstance(attachment, Attachment) else None
        match attachment.kind:
            case "text":
                chars = len(attachment.text()) if isinstance(attachment, Attachment) else None
                fence = len(attachment.name) + 10
                tokens += estimate_tokens((attachment.size if chars is None else chars) + fence)
            case "image":
                tokens += IMAGE_TOKENS
            case "pdf":
                tokens += PDF_PAGE_TOKENS * pdf_pages(attachment.size, data)
    return tokens


@dataclass(frozen=True, slots=True)
class ContextUse:
    """A conversation's size in tokens, and the window it has to fit in (None: unknown)."""

    tokens: int
    estimated: bool
    window: int | None

    @property
    def share(self) -> float | None:
        """How much of the window the conversation fills (1.0 is full), None if unknown."""
        return self.tokens / self.window if self.window else None

    def over(self) -> bool:
        return self.window is not None and self.tokens > self.window


def _reported(turn: Turn) -> bool:
    """Whether ``turn``'s reported input can anchor the count: a summary's cannot (it was
    the whole conversation it summarized, which is no longer sent)."""
    usage = turn.usage
    clean = turn.finish_reason in CLEAN_FINISHES
    return usage.input_tokens > 0 and not usage.estimated and clean and not turn.compacts


def _estimate(turn: Turn) -> int:
    prompt = estimate_tokens(len(turn.prompt)) + attachment_tokens(turn.attachments)
    return prompt + estimate_tokens(len(turn.answer))


def context_use(
    turns: Sequence[Turn],
    system: str | None,
    window: int | None,
    next_prompt: str = "",
    next_attachments: Sequence[AttachedFile] = (),
) -> ContextUse:
    """The size of the request that would send ``next_prompt`` with ``next_attachments``
    (empty: the conversation as it stands) after ``turns`` (the active path) with
    ``system``, against ``window``."""
    sent = sent_turns(turns, next_prompt or None)
    anchor = next((i for i in range(len(sent) - 1, -1, -1) if _reported(sent[i])), None)
    draft = estimate_tokens(len(next_prompt)) if next_prompt else 0
    draft += attachment_tokens(next_attachments)
    if anchor is None:
        tokens = estimate_tokens(len(system or "")) + sum(_estimate(turn) for turn in sent)
        return ContextUse(tokens + draft, estimated=bool(tokens + draft), window=window)
    last = sent[anchor]
    usage = last.usage
    answer = max(usage.output_tokens - usage.reasoning_tokens, 0)
    if not usage.output_tokens and last.answer:
        answer = estimate_tokens(len(last.answer))
    added = sum(_estimate(turn) for turn in sent[anchor + 1 :]) + draft
    return ContextUse(usage.input_tokens + answer + added, estimated=added > 0, window=window)


def format_tokens(tokens: int) -> str:
    """``950``, ``12.3k``, ``200k``, ``1M``, ``1.05M``."""
    if tokens < 1000:
        return str(tokens)
    if tokens < 1_000_000:
        value = tokens / 1000
        return f"{value:.1f}k".replace(".0k", "k") if value < 100 else f"{value:.0f}k"
    return f"{tokens / 1_000_000:.2f}".rstrip("0").rstrip(".") + "M"


def meter_text(use: ContextUse) -> str:
    """``~12.3k / 200k · 6%``; ``1.2k/? ctx`` when the window is unknown (nothing for
    an empty conversation then: there is nothing to say)."""
    size = ("~" if use.estimated else "") + format_tokens(use.tokens)
    if use.window is None:
        return f"{size}/? ctx" if use.tokens else ""
    share = use.share or 0.0
    percent = f"{share * 100:.0f}%" if share >= 0.01 or not use.tokens else "<1%"
    return f"{size} / {format_tokens(use.window)} · {percent}"
