"""Spend and speed sums (chatterm.sessions.stats) against figures worked out by hand, and
the reply figures the session index keeps for them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from chatterm.pricing import SHARED_COST, Cost
from chatterm.sessions import store as store_module
from chatterm.sessions.index import (
    INDEX_NAME,
    ReplyFigures,
    broken_summary,
    figures_of,
    reply_figures,
)
from chatterm.sessions.stats import (
    ModelStats,
    ReplyRecord,
    daily_medians,
    daily_spend,
    parse_since,
    per_model,
    replies_of,
    since,
    stats_of,
)
from chatterm.sessions.store import SessionStore
from tests.sessions.session_factory import full_session, full_turn

DAY1, DAY2, DAY3 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)


def at(day: date, hour: int, minute: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).timestamp())


GPT, CLAUDE = "openai:gpt-5-mini", "anthropic:claude-sonnet-4-5"
RECORDS = [
    ReplyRecord(at(DAY1, 10), GPT, 100, 50, 0.01, 200.0, 40.0),
    ReplyRecord(at(DAY1, 23, 30), GPT, 200, 100, 0.02, 400.0, 60.0),
    ReplyRecord(at(DAY2, 9), GPT, 300, 150, None, 600.0, None),
    ReplyRecord(at(DAY2, 12), CLAUDE, 1000, 500, 0.5, 1000.0, 80.0),
    ReplyRecord(at(DAY3, 8), CLAUDE, 10, 5, 0.25, None, 100.0),
]


def test_sums_and_medians_per_model_most_spent_first() -> None:
    claude, gpt = per_model(RECORDS)
    assert claude == ModelStats(CLAUDE, 2, 1010, 505, 0.75, 0, 1000.0, 90.0)
    assert gpt.model == GPT
    assert (gpt.replies, gpt.input_tokens, gpt.output_tokens) == (3, 600, 300)
    assert gpt.cost_usd == pytest.approx(0.03)
    assert gpt.cost_unknown == 1  # counted apart, not as $0
    assert (gpt.median_ttft_ms, gpt.median_tokens_per_s) == (400.0, 50.0)  # 50: of 40 and 60


def test_the_total_is_over_every_reply() -> None:
    total = stats_of(RECORDS)
    assert total.model is None
    assert (total.replies, total.input_tokens, total.output_tokens) == (5, 1610, 805)
    assert total.cost_usd == pytest.approx(0.78)
    assert total.cost_unknown == 1
    assert total.median_ttft_ms == 500.0  # of 200, 400, 600, 1000
    assert total.median_tokens_per_s == 70.0  # of 40, 60, 80, 100


def test_no_known_cost_and_no_figures() -> None:
    record = ReplyRecord(at(DAY1, 1), "local:x", 1, 2, None, None, None)
    (stats,) = per_model([record])
    assert not stats.cost_known and stats.cost_unknown == 1
    assert stats.median_ttft_ms is None and stats.median_tokens_per_s is None
    assert stats_of([]) == ModelStats(None, 0, 0, 0, 0.0, 0, None, None)


def test_since_is_by_the_local_day_of_the_request() -> None:
    utc = since(RECORDS, DAY2, UTC)
    assert [r.started for r in utc] == [at(DAY2, 9), at(DAY2, 12), at(DAY3, 8)]
    # Two hours east of Greenwich, 23:30 UTC on the 20th is already the 21st.
    east = since(RECORDS, DAY2, timezone(timedelta(hours=2)))
    assert at(DAY1, 23, 30) in [r.started for r in east]
    # Five hours west, 08:00 UTC on the 22nd is still the 22nd; 09:00 on the 21st too.
    west = since(RECORDS, DAY3, timezone(timedelta(hours=-5)))
    assert [r.started for r in west] == [at(DAY3, 8)]
    undated = ReplyRecord(None, GPT, 1, 1, 0.1, None, None)
    assert since([undated], DAY1, UTC) == []  # no time: not in any period
    assert stats_of([undated, *RECORDS]).replies == 6  # but counted without --since


def test_daily_spend_stacks_known_costs_per_model_every_day() -> None:
    spend = daily_spend(RECORDS, UTC)
    assert spend.days == [DAY1, DAY2, DAY3]
    assert spend.models == [CLAUDE, GPT]
    assert spend.usd[CLAUDE] == [0.0, 0.5, 0.25]
    assert spend.usd[GPT] == pytest.approx([0.03, 0.0, 0.0])
    assert spend.unknown == [0, 1, 0]
    later = daily_spend(RECORDS, UTC, until=DAY3 + timedelta(days=2))
    assert len(later.days) == 5 and later.usd[CLAUDE][-2:] == [0.0, 0.0]
    assert daily_spend([], UTC).days == []


def test_daily_medians_per_model() -> None:
    assert daily_medians(RECORDS, "ttft_ms", UTC) == {
        CLAUDE: [(DAY2, 1000.0)],
        GPT: [(DAY1, 300.0), (DAY2, 600.0)],
    }
    assert daily_medians(RECORDS, "tokens_per_s", UTC) == {
        CLAUDE: [(DAY2, 80.0), (DAY3, 100.0)],
        GPT: [(DAY1, 50.0)],
    }


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-11-01", date(2026, 11, 1)),
        ("7d", date(2026, 11, 15)),
        ("1d", DAY2),
        (" 30d ", date(2026, 10, 23)),
    ],
)
def test_since_takes_a_day_or_a_number_of_days(text: str, day: date) -> None:
    assert parse_since(text, today=DAY2) == day


@pytest.mark.parametrize(
    "text",
    ["yesterday", "0d", "2026-13-01", "2026-02-30", "20261121", "", "7", "-7d", "2026-W47-1"],
)
def test_a_bad_since_is_one_line(text: str) -> None:
    with pytest.raises(
        ValueError, match=r"^--since takes a day \(YYYY-MM-DD\) or a number of days"
    ) as error:
        parse_since(text, today=DAY2)
    assert "\n" not in str(error.value)


# -- the figures the index keeps ------------------------------------------------------------


def test_figures_of_every_reply_with_shared_choices_counted_once() -> None:
    first = full_turn(model=GPT)
    first.cost = Cost(0.003, "price_table")
    choice = full_turn(model=GPT)
    choice.cost = SHARED_COST  # its tokens are in the first choice's usage
    unknown = full_turn(model="x:y")
    unknown.cost = Cost(None, "unknown")
    unpriced = full_turn(model="x:y")
    unpriced.cost = None
    unpriced.started = "not a time"
    figures = reply_figures(figures_of([first, choice, unknown, unpriced]))
    ten = int(datetime(2026, 11, 21, 10, tzinfo=UTC).timestamp())
    assert figures == ReplyFigures(
        started=(ten, ten, ten, None),
        models=(GPT, GPT, "x:y", "x:y"),
        input_tokens=(12, 0, 12, 12),
        output_tokens=(30, 0, 30, 30),
        cost_usd=(0.003, 0.0, None, None),
        ttft_ms=(120.5, None, 120.5, 120.5),  # a choice's speed would weigh a request twice
        tokens_per_s=(50.0, None, 50.0, 50.0),
    )
    assert reply_figures(figures_of([])) == ReplyFigures((), (), (), (), (), (), ())


def test_replies_of_skips_unreadable_sessions(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    session = full_session(3)  # every reply, alternatives included
    session.rewind(2)
    session.add(full_turn("again", model=GPT))
    store.save(session)
    (tmp_path / "20261121-100000-bbbb.json").write_text("{")
    summaries = store.list(figures=True)
    assert any(s.problem for s in summaries)
    records = replies_of([*summaries, broken_summary("x.json", "json", "bad")])
    assert [r.model for r in records] == ["demo", "demo", "demo", GPT]


def _figures_damaged(folder: Path, damage: str) -> None:
    index = folder / INDEX_NAME
    data = json.loads(index.read_bytes())
    (record,) = (r for r in data["entries"].values() if r[3 + data["fields"].index("turns")])
    record[3 + data["fields"].index("figures")] = damage
    index.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "damage",
    [
        "{not json",
        "[[1]]",
        '"text"',
        '[[1],["m"],[1],[1],[NaN],[null],[null]]',
        '[[1],["m"],[1],[1],[1e400],[null],[null]]',
        '[[1],["m"],[true],[1],[0.1],[null],[null]]',
        '[[1],["m","n"],[1],[1],[0.1],[null],[null]]',
        "[[1],[2],[1],[1],[0.1],[null],[null]]",
        '[[1],["m"],[1],[1],["0.1"],[null],[null]]',
        "[" * 100_000,
    ],
)
def test_damaged_figures_are_read_again_from_the_file(tmp_path: Path, damage: str) -> None:
    store = SessionStore(tmp_path)
    store.save(full_session())
    expected = store.list(figures=True)
    _figures_damaged(tmp_path, damage)
    assert store.list(figures=True) == expected
    assert store.list() == expected  # and the index was written again, mended


def test_stats_read_no_session_file_while_the_index_is_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore(tmp_path)
    for n in range(3):
        store.save(full_session(session_id=f"20261121-10000{n}-aaaa"))
    expected = replies_of(store.list(figures=True))
    opened: list[str] = []
    real_read = store_module.read_regular

    def counting(path: Path, *, limit: int) -> bytes:
        opened.append(path.name)
        return real_read(path, limit=limit)

    monkeypatch.setattr(store_module, "read_regular", counting)
    assert replies_of(SessionStore(tmp_path).list(figures=True)) == expected
    assert opened == []
    assert len(expected) == 6
