"""Recalling this chat's prompts with Up/Down: the bookkeeping, without the TUI."""

from __future__ import annotations

from chatterm.tui.prompt_recall import PromptRecall, newest_first

SENT = ["first", "second", "third"]


def test_up_from_an_empty_box_walks_back_and_down_walks_forward_to_empty() -> None:
    recall = PromptRecall()
    shown = ""
    seen = []
    for _ in range(4):
        recalled = recall.older(shown, lambda: SENT)
        assert recalled is not None
        shown = recalled
        seen.append(shown)
    assert seen == ["third", "second", "first", "first"]  # the oldest stays
    for expected in ("second", "third", ""):
        recalled = recall.newer(shown)
        assert recalled == expected
        shown = recalled
    assert not recall.browsing
    assert recall.newer(shown) is None  # Down in the empty box: the cursor's


def test_text_of_the_users_own_is_never_replaced() -> None:
    recall = PromptRecall()
    assert recall.older("a draft", lambda: SENT) is None
    assert recall.newer("a draft") is None


def test_an_edited_recall_ends_browsing() -> None:
    recall = PromptRecall()
    assert recall.older("", lambda: SENT) == "third"
    assert recall.older("third!", lambda: SENT) is None  # edited: Up moves the cursor
    assert recall.newer("third!") is None
    assert not recall.browsing
    assert recall.older("", lambda: SENT) == "third"  # cleared: from the newest again


def test_nothing_to_recall_leaves_the_keys_to_the_cursor() -> None:
    asked: list[bool] = []

    def earlier() -> list[str]:
        asked.append(True)
        return []

    recall = PromptRecall()
    assert recall.older("", earlier) is None
    assert recall.newer("") is None
    assert asked == [True]


def test_the_prompts_are_read_once_per_browse() -> None:
    calls: list[int] = []

    def earlier() -> list[str]:
        calls.append(1)
        return SENT

    recall = PromptRecall()
    shown = recall.older("", earlier)
    assert shown is not None
    recall.older(shown, earlier)
    assert len(calls) == 1


def test_repeats_are_offered_once_where_they_were_last_sent() -> None:
    assert newest_first(["a", "b", "a", "a", " ", ""]) == ["a", "b"]
    assert newest_first([]) == []
