"""ThinkTagSplitter: inline <think>…</think> reasoning, tags cut anywhere."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from chatterm.events import AnswerWasReasoning, Event, ReasoningDelta, TextDelta
from chatterm.providers.think_tags import ThinkTagSplitter
from chatterm.reply.accumulate import ReplyAccumulator


def split(chunks: Iterable[str]) -> list[Event]:
    splitter = ThinkTagSplitter()
    events: list[Event] = []
    for chunk in chunks:
        events.extend(splitter.feed(chunk))
    events.extend(splitter.close())
    return events


def fold(events: Iterable[Event]) -> tuple[str, str]:
    """(reasoning, answer) as the accumulator sees them."""
    acc = ReplyAccumulator("test")
    for i, event in enumerate(events):
        acc.add(float(i), event)
    return acc.reasoning, acc.text


def kinds(events: Iterable[Event]) -> list[type]:
    """Event types with consecutive repeats collapsed."""
    out: list[type] = []
    for event in events:
        if not out or out[-1] is not type(event):
            out.append(type(event))
    return out


def every_two_chunk_split(text: str) -> Iterable[list[str]]:
    for cut in range(len(text) + 1):
        yield [text[:cut], text[cut:]]


def one_char_at_a_time(text: str) -> list[str]:
    return list(text)


def assert_fragmentation_invariant(text: str, expected: tuple[str, str]) -> None:
    assert fold(split([text])) == expected
    for chunks in every_two_chunk_split(text):
        assert fold(split(chunks)) == expected, chunks
    assert fold(split(one_char_at_a_time(text))) == expected


class TestWithOpeningTag:
    TEXT = "<think>\nThe user says hi. Greet back.\n</think>\n\nHello! How can I help?"
    EXPECTED = ("\nThe user says hi. Greet back.\n", "Hello! How can I help?")

    def test_whole(self) -> None:
        events = split([self.TEXT])
        assert events == [
            ReasoningDelta("\nThe user says hi. Greet back.\n"),
            TextDelta("Hello! How can I help?"),
        ]

    def test_split_at_every_position_and_one_char_at_a_time(self) -> None:
        assert_fragmentation_invariant(self.TEXT, self.EXPECTED)

    def test_one_char_at_a_time_event_kinds(self) -> None:
        events = split(one_char_at_a_time(self.TEXT))
        assert kinds(events) == [ReasoningDelta, TextDelta]
        # No tag characters ever leak out as text.
        assert all("<" not in e.text for e in events if isinstance(e, ReasoningDelta | TextDelta))

    def test_tags_arriving_as_separate_chunks(self) -> None:
        events = split(["<think>", "Okay", "</think>", "\n\n", "Hi"])
        assert events == [ReasoningDelta("Okay"), TextDelta("Hi")]

    def test_leading_whitespace_before_opening_tag(self) -> None:
        text = "\n\n  <think>plan</think>answer"
        assert_fragmentation_invariant(text, ("plan", "answer"))

    def test_empty_reasoning(self) -> None:
        assert_fragmentation_invariant(
            "<think></think>\n\nJust the answer.", ("", "Just the answer.")
        )

    def test_reasoning_is_streamed_before_the_close_tag(self) -> None:
        splitter = ThinkTagSplitter()
        assert splitter.feed("<think>step one") == [ReasoningDelta("step one")]
        assert splitter.feed(", step two </th") == [ReasoningDelta(", step two ")]
        assert splitter.feed("ink>Done") == [TextDelta("Done")]

    def test_partial_close_tag_that_is_not_a_tag(self) -> None:
        text = "<think>a </thinking> b < c</think>ok"
        assert_fragmentation_invariant(text, ("a </thinking> b < c", "ok"))

    def test_unclosed_think_is_all_reasoning(self) -> None:
        text = "<think>still thinking when the stream stopped</th"
        assert_fragmentation_invariant(text, ("still thinking when the stream stopped</th", ""))


class TestBlankLinesAfterClose:
    @pytest.mark.parametrize("gap", ["", "\n", "\n\n", "\r\n\r\n", " \n \n", "\n\n\n\n"])
    def test_stripped(self, gap: str) -> None:
        text = f"<think>r</think>{gap}Answer line one.\n\nLine two."
        assert_fragmentation_invariant(text, ("r", "Answer line one.\n\nLine two."))

    def test_blank_lines_in_their_own_chunks(self) -> None:
        events = split(["<think>r</think>", "\n", "\n", "\n", "A", "\n\nB"])
        assert events == [ReasoningDelta("r"), TextDelta("A"), TextDelta("\n\nB")]

    def test_blank_lines_only_after_close(self) -> None:
        assert split(["<think>r</think>\n\n"]) == [ReasoningDelta("r")]

    def test_indent_of_first_answer_line_is_kept(self) -> None:
        text = "<think>r</think>\n\n    indented code\nnext"
        assert_fragmentation_invariant(text, ("r", "    indented code\nnext"))


class TestMissingOpeningTag:
    # llama.cpp with reasoning_format "none" (ggml-org/llama.cpp#23320): <think> was in the prompt.
    TEXT = (
        'Okay, the user just sent "Hello". Let\'s craft a response.\n'
        "</think>\n\nHello! How can I assist you today?"
    )
    EXPECTED = (
        'Okay, the user just sent "Hello". Let\'s craft a response.\n',
        "Hello! How can I assist you today?",
    )

    def test_whole(self) -> None:
        events = split([self.TEXT])
        assert events == [
            TextDelta('Okay, the user just sent "Hello". Let\'s craft a response.\n'),
            AnswerWasReasoning(),
            TextDelta("Hello! How can I assist you today?"),
        ]
        assert fold(events) == self.EXPECTED

    def test_split_at_every_position_and_one_char_at_a_time(self) -> None:
        assert_fragmentation_invariant(self.TEXT, self.EXPECTED)

    def test_one_char_at_a_time_event_kinds(self) -> None:
        events = split(one_char_at_a_time(self.TEXT))
        assert kinds(events) == [TextDelta, AnswerWasReasoning, TextDelta]
        assert sum(isinstance(e, AnswerWasReasoning) for e in events) == 1

    def test_answer_text_is_shown_provisionally(self) -> None:
        splitter = ThinkTagSplitter()
        assert splitter.feed("Thinking about it") == [TextDelta("Thinking about it")]
        assert splitter.feed(" more.</") == [TextDelta(" more.")]
        assert splitter.feed("think>\n\nAnswer") == [AnswerWasReasoning(), TextDelta("Answer")]

    def test_close_tag_right_at_the_start(self) -> None:
        assert_fragmentation_invariant("</think>\n\nAnswer", ("", "Answer"))
        assert split(["</think>\n\nAnswer"]) == [AnswerWasReasoning(), TextDelta("Answer")]

    def test_only_the_first_close_tag_counts(self) -> None:
        text = "r\n</think>answer mentions\n</think> literally"
        assert_fragmentation_invariant(text, ("r\n", "answer mentions\n</think> literally"))

    def test_no_tags_at_all_is_plain_answer(self) -> None:
        text = "Just an answer with a < sign and </thin text."
        assert_fragmentation_invariant(text, ("", text))
        assert kinds(split(one_char_at_a_time(text))) == [TextDelta]


class TestLiteralTagsInAnswer:
    def test_open_tag_later_in_answer_is_content(self) -> None:
        text = "Use the <think> tag to start reasoning, then <think> again."
        assert_fragmentation_invariant(text, ("", text))
        assert kinds(split(one_char_at_a_time(text))) == [TextDelta]

    def test_tags_inside_a_code_block(self) -> None:
        text = "Use it like this:\n```html\n<think>x</think>\n```\nDone."
        assert_fragmentation_invariant(text, ("", text))

    def test_open_tag_after_answer_started_does_not_open_reasoning(self) -> None:
        text = "Hello.\n<think>not reasoning"
        assert_fragmentation_invariant(text, ("", text))

    def test_open_tag_after_reasoning_is_content(self) -> None:
        text = "<think>r</think>Write <think> in your template."
        assert_fragmentation_invariant(text, ("r", "Write <think> in your template."))

    def test_code_fence_before_bare_close_keeps_it_as_content(self) -> None:
        text = "Here is the template:\n```jinja\n{{ x }}</think>\n```\nThat is all."
        assert_fragmentation_invariant(text, ("", text))
        assert AnswerWasReasoning() not in split(one_char_at_a_time(text))

    def test_code_fence_split_across_chunks(self) -> None:
        text = "Example:\n```\n</think>\n```"
        for cut in range(len("Example:\n"), len("Example:\n```") + 1):
            events = split([text[:cut], text[cut:]])
            assert AnswerWasReasoning() not in events, cut
            assert fold(events) == ("", text)

    def test_close_before_fence_still_reclassifies(self) -> None:
        text = "thoughts</think>\n\n```py\nprint(1)\n```"
        assert_fragmentation_invariant(text, ("thoughts", "```py\nprint(1)\n```"))


class TestStopLooking:
    def test_tags_become_content(self) -> None:
        splitter = ThinkTagSplitter()
        splitter.stop_looking()
        events = splitter.feed("<think>x</think>y") + splitter.close()
        assert events == [TextDelta("<think>x</think>y")]

    def test_after_answer_started(self) -> None:
        splitter = ThinkTagSplitter()
        events = splitter.feed("abc")
        splitter.stop_looking()
        events += splitter.feed("</think>def") + splitter.close()
        assert events == [TextDelta("abc"), TextDelta("</think>def")]
        assert fold(events) == ("", "abc</think>def")

    def test_held_text_is_released_as_content(self) -> None:
        splitter = ThinkTagSplitter()
        assert splitter.feed("<thi") == []
        splitter.stop_looking()
        assert splitter.feed("nk>") == [TextDelta("<think>")]

    def test_inside_think_keeps_looking_for_the_close(self) -> None:
        splitter = ThinkTagSplitter()
        events = splitter.feed("<think>a")
        splitter.stop_looking()
        events += splitter.feed("b</think>c") + splitter.close()
        assert fold(events) == ("ab", "c")


class TestClose:
    def test_flushes_held_partial_open_tag_as_answer(self) -> None:
        splitter = ThinkTagSplitter()
        assert splitter.feed("<thin") == []
        assert splitter.close() == [TextDelta("<thin")]

    def test_flushes_held_partial_close_tag_in_answer(self) -> None:
        splitter = ThinkTagSplitter()
        assert splitter.feed("a </thi") == [TextDelta("a ")]
        assert splitter.close() == [TextDelta("</thi")]

    def test_flushes_held_partial_close_tag_in_reasoning(self) -> None:
        splitter = ThinkTagSplitter()
        assert splitter.feed("<think>r<") == [ReasoningDelta("r")]
        assert splitter.close() == [ReasoningDelta("<")]

    def test_whitespace_only_output(self) -> None:
        assert split(["\n", "  \n"]) == []

    def test_nothing_held(self) -> None:
        splitter = ThinkTagSplitter()
        assert splitter.feed("<think>r</think>answer") == [
            ReasoningDelta("r"),
            TextDelta("answer"),
        ]
        assert splitter.close() == []

    def test_empty_stream(self) -> None:
        assert ThinkTagSplitter().close() == []
        assert split([""]) == []


class TestCloseTagInProse:
    def test_inline_mention_is_content(self) -> None:
        text = "Qwen marks the end with the closing tag `</think>` and then answers."
        assert_fragmentation_invariant(text, ("", text))

    def test_mid_line_close_tag_is_content(self) -> None:
        text = "Write </think> to end.\nMore."
        assert_fragmentation_invariant(text, ("", text))

    def test_close_tag_starting_a_line_still_reclassifies(self) -> None:
        text = "Okay, the user says hi.\n</think>\n\nHello!"
        assert_fragmentation_invariant(text, ("Okay, the user says hi.\n", "Hello!"))
