"""The full-text search index: kept right across save, rename, delete, edits behind
chatterm's back, damage and rebuilds; queries with phrases, prefixes and non-ASCII text;
snippets that are safe to show; and every way the index can be unusable, bypassed."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from chatterm.events import TextDelta, Usage
from chatterm.reply.accumulate import Reply
from chatterm.reply.metrics import Metrics
from chatterm.sessions import search, search_query, search_scan
from chatterm.sessions.codec import SessionFormat, encode
from chatterm.sessions.index import SEARCH_INDEX_NAME
from chatterm.sessions.model import Session, Turn, new_session
from chatterm.sessions.recorder import SessionWriter, TurnRecorder
from chatterm.sessions.search import SearchIndex
from chatterm.sessions.search_query import make_snippet, parse_query
from chatterm.sessions.search_scan import SearchError, SearchResults, scan_folder
from chatterm.sessions.store import SessionStore
from tests.privileges import file_privileges_can_be_dropped, without_file_privileges


def turn(prompt: str, answer: str, reasoning: str = "") -> Turn:
    return Turn(
        prompt=prompt,
        model="demo",
        started="2026-11-21T10:00:00.000Z",
        reasoning=reasoning,
        answer=answer,
        finish_reason="stop",
    )


def session(session_id: str, title: str, *turns: Turn, updated: str = "") -> Session:
    made = new_session(session_id=session_id)
    made.title = title
    for one in turns:
        made.add(one)
    made.updated = updated or f"2026-11-{session_id[6:8]}T10:00:00.000Z"
    return made


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    store = SessionStore(tmp_path / "sessions")
    store.save(
        session(
            "20261101-090000-aaaa",
            "Cooking",
            turn("How long to boil pasta?", "About 10 minutes for spaghetti."),
            turn("And the sauce?", "A crème fraîche sauce, simmered gently."),
        )
    )
    store.save(
        session(
            "20261102-090000-bbbb",
            "Rust",
            turn("Explain lifetimes", "Lifetimes track how long borrows live.", "Think of pasta."),
        )
    )
    store.save(
        session(
            "20261103-090000-cccc",
            "Trip",
            turn("Plan a day in München", "Start at the Marienplatz; eat Weißwurst."),
        )
    )
    return store


def find(store: SessionStore, text: str) -> SearchResults:
    return store.search_index().search(parse_query(text))


def ids(results: SearchResults) -> list[str]:
    return [hit.session_id for hit in results.hits]


def files_read(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The session files the index reads from now on."""
    read: list[Path] = []
    original = search.read_session_text

    def spy(path: Path, fmt: SessionFormat) -> tuple[object, object, bool]:
        read.append(path)
        return original(path, fmt)

    monkeypatch.setattr(search, "read_session_text", spy)
    return read


# -- building and keeping the index ---------------------------------------------------------


def test_the_first_search_builds_the_index_mode_0600(store: SessionStore) -> None:
    index = store.folder / SEARCH_INDEX_NAME
    assert not index.exists()  # saving never creates it
    results = find(store, "pasta")
    assert ids(results) == ["20261102-090000-bbbb", "20261101-090000-aaaa"]  # newest first
    assert results.total == 2 and results.notes == []
    assert stat.S_IMODE(index.stat().st_mode) == 0o600
    rust, cooking = results.hits
    assert rust.snippet.field == "reasoning" and rust.turn == 1 and rust.active
    assert cooking.snippet.field == "prompt" and cooking.file_name == "20261101-090000-aaaa.json"


def test_a_search_reads_only_what_changed(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    find(store, "pasta")
    read = files_read(monkeypatch)
    assert ids(find(store, "lifetimes")) == ["20261102-090000-bbbb"]
    assert read == []


def test_a_save_updates_the_index_without_a_read(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    find(store, "pasta")
    read = files_read(monkeypatch)
    cooking = store.load("20261101-090000-aaaa")
    cooking.add(turn("Any dessert?", "Tiramisu, with mascarpone."))
    store.save(cooking)
    results = find(store, "mascarpone")
    assert ids(results) == ["20261101-090000-aaaa"] and results.hits[0].turn == 3
    assert read == []  # the save put it there


def test_rename_and_delete_keep_the_index_right(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    find(store, "pasta")
    read = files_read(monkeypatch)
    store.rename("20261102-090000-bbbb", "Borrow checker")
    [hit] = find(store, "lifetimes").hits
    assert hit.title == "Borrow checker"
    store.delete("20261101-090000-aaaa")
    assert ids(find(store, "pasta")) == ["20261102-090000-bbbb"]
    assert read == []
    with sqlite3.connect(store.folder / SEARCH_INDEX_NAME) as db:
        names = {name for (name,) in db.execute("SELECT name FROM files")}
        rows = db.execute("SELECT count(*) FROM body").fetchone()[0]
    assert names == {"20261102-090000-bbbb.json", "20261103-090000-cccc.json"}
    assert rows == 2  # the deleted session's turns left the index too


def test_a_file_edited_behind_chatterms_back_is_read_again(store: SessionStore) -> None:
    find(store, "pasta")
    path = store.folder / "20261103-090000-cccc.json"
    data = json.loads(path.read_text())
    data["turns"][0]["answer"] = "Start at the Viktualienmarkt."
    path.write_text(json.dumps(data))  # in place: same inode
    assert ids(find(store, "Viktualienmarkt")) == ["20261103-090000-cccc"]
    assert find(store, "Marienplatz").hits == []


def test_files_added_or_removed_behind_its_back(store: SessionStore, tmp_path: Path) -> None:
    find(store, "pasta")
    (store.folder / "20261101-090000-aaaa.json").unlink()
    other = session("20261104-090000-dddd", "Pasta again", turn("Fresh pasta?", "Eggs, flour."))
    (store.folder / f"{other.id}.toml").write_bytes(encode(other, "toml"))
    assert ids(find(store, "pasta")) == ["20261104-090000-dddd", "20261102-090000-bbbb"]


def test_a_missing_index_is_built_again(store: SessionStore) -> None:
    find(store, "pasta")
    (store.folder / SEARCH_INDEX_NAME).unlink()
    results = find(store, "pasta")
    assert len(results.hits) == 2 and results.notes == []


@pytest.mark.parametrize(
    "damage",
    [
        b"\x00garbage that is not a database" * 100,
        b"SQLite format 3\x00" + b"\xff" * 5000,
    ],
)
def test_a_damaged_index_is_built_again_with_a_note(store: SessionStore, damage: bytes) -> None:
    find(store, "pasta")
    (store.folder / SEARCH_INDEX_NAME).write_bytes(damage)
    results = find(store, "pasta")
    assert len(results.hits) == 2
    assert len(results.notes) == 1 and "damaged" in results.notes[0]
    assert find(store, "pasta").notes == []  # whole again


def test_an_index_of_another_version_is_built_again(store: SessionStore) -> None:
    find(store, "pasta")
    with sqlite3.connect(store.folder / SEARCH_INDEX_NAME) as db:
        db.execute("PRAGMA user_version = 99")
    results = find(store, "pasta")
    assert len(results.hits) == 2 and "damaged" in results.notes[0]


def test_an_index_holding_other_tables_is_built_again(store: SessionStore) -> None:
    with sqlite3.connect(store.folder / SEARCH_INDEX_NAME) as db:
        db.execute("CREATE TABLE other(x)")
    results = find(store, "pasta")
    assert len(results.hits) == 2 and "damaged" in results.notes[0]


def test_a_locked_index_is_bypassed_with_a_note(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    find(store, "pasta")
    monkeypatch.setattr(search, "BUSY_TIMEOUT_S", 0.05)
    holder = sqlite3.connect(store.folder / SEARCH_INDEX_NAME, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        results = find(store, "pasta")
        assert ids(results) == ["20261102-090000-bbbb", "20261101-090000-aaaa"]
        assert len(results.notes) == 1 and "another chatterm" in results.notes[0]
        assert "searched directly" in results.notes[0]
        # A save meanwhile does not wait for it (nor fail): the next search catches up.
        rust = store.load("20261102-090000-bbbb")
        rust.add(turn("Traits?", "Shared behaviour, like interfaces."))
        store.save(rust)
    finally:
        holder.close()
    assert ids(find(store, "interfaces")) == ["20261102-090000-bbbb"]


def test_an_index_that_is_not_a_file_is_bypassed(store: SessionStore) -> None:
    (store.folder / SEARCH_INDEX_NAME).mkdir()
    results = find(store, "pasta")
    assert len(results.hits) == 2
    assert "is a folder" in results.notes[0] and "searched directly" in results.notes[0]


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs")
def test_an_index_that_is_a_fifo_is_bypassed_without_hanging(store: SessionStore) -> None:
    os.mkfifo(store.folder / SEARCH_INDEX_NAME)
    results = find(store, "pasta")
    assert len(results.hits) == 2 and "FIFO" in results.notes[0]


@pytest.mark.skipif(not file_privileges_can_be_dropped(), reason="permission bits cannot apply")
def test_a_read_only_folder_is_searched_directly(store: SessionStore) -> None:
    store.folder.chmod(0o500)
    try:
        with without_file_privileges():  # as root too: the bits apply (tests/privileges.py)
            results = find(store, "pasta")
    finally:
        store.folder.chmod(0o700)
    assert len(results.hits) == 2 and "searched directly" in results.notes[0]


def test_without_fts5_the_files_are_searched_directly(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "_SCHEMA", search._SCHEMA.replace("fts5(", "no_such_fts9("))
    results = find(store, "pasta")
    assert ids(results) == ["20261102-090000-bbbb", "20261101-090000-aaaa"]
    assert "no FTS5" in results.notes[0]


def test_an_unreadable_folder_is_the_one_error(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    folder.write_text("not a folder")
    with pytest.raises(SearchError, match="a part of the path is a file"):
        SearchIndex(folder).search(parse_query("x"))
    with pytest.raises(SearchError):
        scan_folder(folder, parse_query("x"), None)


def test_no_sessions_folder_finds_nothing(tmp_path: Path) -> None:
    results = SearchIndex(tmp_path / "none").search(parse_query("pasta"))
    assert results.hits == [] and results.notes == []
    assert not (tmp_path / "none").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and undecodable names")
def test_odd_files_are_skipped_not_fatal(store: SessionStore) -> None:
    folder = store.folder
    (folder / "20261105-090000-bad1.json").write_text("{not json")
    os.mkfifo(folder / "20261105-090000-fifo.json")
    (folder / "20261105-090000-gone.json").symlink_to(folder / "nowhere.json")
    (folder / os.fsdecode(b"\xff\xfe.json")).write_text("{}")
    (folder / "20261105-090000-link.json").symlink_to(folder / "20261101-090000-aaaa.json")
    results = find(store, "pasta")
    assert ids(results) == ["20261102-090000-bbbb", "20261101-090000-aaaa"]
    assert results.notes == []
    assert find(store, "pasta").notes == []  # and again, with the odd files remembered


def test_a_file_that_cannot_be_read_now_is_tried_again(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    find(store, "pasta")
    extra = session("20261106-090000-eeee", "Later", turn("Gnocchi?", "Potato dumplings."))
    path = store.folder / f"{extra.id}.json"
    path.write_bytes(encode(extra, "json"))
    original = search_scan.read_regular  # type: ignore[attr-defined]

    def refuse(where: Path, *, limit: int) -> bytes:
        if where == path:
            raise PermissionError(13, "Permission denied", str(where))
        return original(where, limit=limit)

    monkeypatch.setattr(search_scan, "read_regular", refuse)
    assert find(store, "gnocchi").hits == []
    monkeypatch.setattr(search_scan, "read_regular", original)
    assert ids(find(store, "gnocchi")) == [extra.id]  # the file did not change


# -- branches -------------------------------------------------------------------------------


def test_every_branch_is_searched_and_a_hit_says_where_it_is(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    branched = session(
        "20261107-090000-ffff",
        "Branches",
        turn("Name a fruit", "Apple."),
        turn("Another?", "Banana."),
    )
    branched.rewind(1)
    branched.add(turn("Another?", "Cherry."))  # the active path: Apple, Cherry
    store.save(branched)
    [hit] = find(store, "banana").hits
    assert (hit.tree_index, hit.turn, hit.active) == (1, 2, False)
    [hit] = find(store, "cherry").hits
    assert (hit.tree_index, hit.turn, hit.active) == (2, 2, True)
    [hit] = find(store, "another").hits  # both: the one on the active path is shown
    assert (hit.tree_index, hit.turns_matched) == (2, 2)
    # Showing the other branch moves it onto the active path, in the index too.
    branched.show(1)
    store.save(branched)
    [hit] = find(store, "banana").hits
    assert hit.active and hit.turn == 2


def test_a_tree_made_smaller_behind_its_back_drops_the_turns(store: SessionStore) -> None:
    find(store, "pasta")
    path = store.folder / "20261101-090000-aaaa.json"
    data = json.loads(path.read_text())
    data["turns"] = data["turns"][:1]
    data["active"] = 0
    data["end"]["turns"] = 1
    path.write_text(json.dumps(data))
    assert find(store, "fraîche").hits == []
    assert ids(find(store, "spaghetti")) == ["20261101-090000-aaaa"]


# -- saving ---------------------------------------------------------------------------------


def test_checkpoints_leave_the_index_alone_and_the_end_of_a_reply_indexes_it(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    find(store, "pasta")
    recorded: list[str] = []
    original = SearchIndex.record

    def spy(self: SearchIndex, name: str, stamp: object, text: search_scan.SessionText) -> None:
        recorded.append(text.turns[-1].answer)
        original(self, name, stamp, text)  # type: ignore[arg-type]

    monkeypatch.setattr(SearchIndex, "record", spy)
    writer = SessionWriter(store)
    chat = new_session(session_id="20261108-090000-abab")
    recorder = TurnRecorder(chat, writer, "Write a haiku", "demo", checkpoint_s=0.0)
    recorder.event(TextDelta("Autumn moonlight "), 1.0)
    recorder.event(TextDelta("a worm digs silently "), 2.0)
    recorder.tick(3.0)
    writer.wait()
    assert recorded == []
    assert len(find(store, "haiku").hits) == 1  # the checkpoint's file, read by the search
    text = "Autumn moonlight a worm digs silently"
    recorder.done(Reply("demo", "", text, "stop", Usage(), Metrics()))
    writer.close()
    assert recorded == ["Autumn moonlight a worm digs silently"]
    [hit] = find(store, "worm").hits
    assert hit.session_id == chat.id


# -- queries and snippets -----------------------------------------------------------------------


def test_phrases_keep_their_order(store: SessionStore) -> None:
    assert ids(find(store, '"how long to boil"')) == ["20261101-090000-aaaa"]
    assert find(store, '"boil long"').hits == []
    assert ids(find(store, "long boil")) == ["20261101-090000-aaaa"]  # words: any order
    assert ids(find(store, '"how long')) == ["20261102-090000-bbbb", "20261101-090000-aaaa"]


def test_prefixes(store: SessionStore) -> None:
    assert ids(find(store, "spag*")) == ["20261101-090000-aaaa"]
    assert ids(find(store, '"crème fra"*')) == ["20261101-090000-aaaa"]
    [hit] = find(store, "lifet*").hits
    assert hit.snippet.text[slice(*hit.snippet.spans[0])] == "lifetimes"


def test_every_word_must_be_in_the_turn(store: SessionStore) -> None:
    assert ids(find(store, "pasta spaghetti")) == ["20261101-090000-aaaa"]
    assert find(store, "pasta interfaces").hits == []


def test_case_and_diacritics_do_not_count(store: SessionStore) -> None:
    assert ids(find(store, "CREME fraiche")) == ["20261101-090000-aaaa"]
    assert ids(find(store, "munchen")) == ["20261103-090000-cccc"]
    [hit] = find(store, "MÜNCHEN").hits
    assert hit.snippet.text[slice(*hit.snippet.spans[0])] == "München"
    assert ids(find(store, "weißwurst")) == ["20261103-090000-cccc"]


def test_non_latin_scripts(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    store.save(
        session(
            "20261109-090000-a1a1",
            "Scripts",
            turn("Ελληνικά: ΑΘΗΝΑ", "Москва и 日本語のテキスト 🙂"),
        )
    )
    assert len(find(store, "αθηνα").hits) == 1
    assert len(find(store, "МОСКВА").hits) == 1
    # A run of CJK letters is one word to the tokenizer: part of it is found as a prefix.
    assert len(find(store, "日本*").hits) == 1
    [hit] = find(store, "日本*").hits
    assert hit.snippet.text[slice(*hit.snippet.spans[0])] == "日本語のテキスト"


@pytest.mark.parametrize(
    "text",
    [
        "pasta AND",
        "NOT pasta",
        "pasta OR",
        "NEAR(pasta boil)",
        'answer:pasta "unclosed',
        "^pasta",
        "(pasta",
        "pas'ta",
        'pasta""',
        "pasta*\u0000",
        "a-b c.d e/f",
        "\udcff pasta",  # an undecodable byte of argv
    ],
)
def test_fts_syntax_in_the_query_is_only_words(store: SessionStore, text: str) -> None:
    results = find(store, text)  # never an FTS5 syntax error
    assert results.notes == []


def test_a_query_without_words_finds_nothing() -> None:
    assert not parse_query("*** \"\" ''' -- ")
    assert not parse_query("")


def test_the_fallback_scan_finds_what_the_index_finds(store: SessionStore) -> None:
    for text in ("pasta", '"how long"', "spag*", "creme", "munchen", "long boil"):
        indexed = find(store, text)
        scanned = scan_folder(store.folder, parse_query(text), None)
        assert [(h.session_id, h.tree_index, h.snippet) for h in indexed.hits] == [
            (h.session_id, h.tree_index, h.snippet) for h in scanned.hits
        ], text


def test_snippets_are_one_safe_line_around_the_match() -> None:
    answer = (
        "Intro line.\n\n" + "filler words here " * 20 + "then \x1b]52;c;evil\x07 [b]the needle[/b] "
        "and\r\nmore " + "trailing text " * 20
    )
    texts: dict[search_query.Field, str] = {"prompt": "q", "reasoning": "", "answer": answer}
    snippet = make_snippet(parse_query("needle"), texts, 60)
    assert snippet.field == "answer"
    assert snippet.text.startswith("…") and snippet.text.endswith("…")
    assert "\n" not in snippet.text and "\x1b" not in snippet.text and "\x07" not in snippet.text
    assert "[b]the" in snippet.text  # markup is text
    [(start, end)] = snippet.spans
    assert snippet.text[start:end] == "needle"
    assert len(snippet.text) <= 62


def test_a_snippet_marks_every_match_in_it() -> None:
    texts: dict[search_query.Field, str] = {
        "prompt": "tea or coffee? Tea, please: green tea.",
        "reasoning": "",
        "answer": "",
    }
    snippet = make_snippet(parse_query("tea"), texts)
    assert [snippet.text[a:b] for a, b in snippet.spans] == ["tea", "Tea", "tea"]


def test_titles_and_text_with_lone_surrogates_are_indexed(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    store.save(session("20261110-090000-b2b2", "bad \ud800 title", turn("x \udcff y", "zebra")))
    [hit] = find(store, "zebra").hits
    assert hit.title == "bad \ufffd title"
