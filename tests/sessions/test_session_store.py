"""The store: atomic private files, lookup by id, prefix or path, and the listing index."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest
from session_factory import full_session

from chatterm.sessions import store as store_module
from chatterm.sessions.codec import encode
from chatterm.sessions.index import INDEX_NAME, INDEX_VERSION
from chatterm.sessions.model import SCHEMA_VERSION, new_session
from chatterm.sessions.store import SessionConflict, SessionError, SessionStore, sessions_dir
from tests.privileges import file_privileges_can_be_dropped, without_file_privileges


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sessions_live_under_chatterm_home(isolated_home: Path) -> None:
    assert sessions_dir() == isolated_home / "data" / "sessions"
    assert SessionStore().folder == sessions_dir()


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_save_and_load(tmp_path: Path, fmt: str) -> None:
    store = SessionStore(tmp_path / "s", new_format=fmt)  # type: ignore[arg-type]
    session = full_session()
    path = store.save(session)
    assert path == tmp_path / "s" / f"{session.id}.{fmt}"
    assert SessionStore(tmp_path / "s").load(session.id) == session


def test_files_are_private(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "deep" / "sessions")
    path = store.save(full_session())
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_loaded_session_keeps_its_format(tmp_path: Path) -> None:
    tmp_path = tmp_path / "s"
    SessionStore(tmp_path, new_format="toml").save(full_session())
    store = SessionStore(tmp_path, new_format="json")
    session = store.load("20261121-100000-abcd")
    session.title = "renamed"
    assert store.save(session).suffix == ".toml"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "20261121-100000-abcd.toml"
    ]


def test_find_by_prefix_or_path(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s")
    store.save(full_session(session_id="20261121-100000-aaaa"))
    store.save(full_session(session_id="20261121-110000-bbbb"))
    assert store.load("20261121-11").id == "20261121-110000-bbbb"
    outside = tmp_path / "copy.json"
    outside.write_bytes((tmp_path / "s" / "20261121-100000-aaaa.json").read_bytes())
    assert store.load(str(outside)).id == "20261121-100000-aaaa"
    with pytest.raises(SessionError, match="matches 2 sessions.*give more of the id"):
        store.load("20261121")
    with pytest.raises(SessionError, match="no session 'nope'.*chatterm sessions list"):
        store.load("nope")
    with pytest.raises(SessionError, match="no session"):
        store.load("../../etc/passwd")


def test_a_session_loaded_from_elsewhere_is_saved_as_a_copy_not_over_the_original(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "shared" / "chat.json"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(encode(full_session(), "json"))
    store = SessionStore(tmp_path / "sessions")
    session = store.load(str(elsewhere))
    before = elsewhere.read_bytes()
    assert store.save(session) == tmp_path / "sessions" / f"{session.id}.json"
    assert elsewhere.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b'{"chatterm_session": 1, "id": "x", "tur', "invalid JSON"),
        (b"\x00\xff garbage", "not UTF-8"),
        (b'{"hello": "world"}', "not a chatterm session"),
    ],
)
def test_an_unreadable_file_is_named_and_never_overwritten(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    store = SessionStore(tmp_path)
    path = tmp_path / "20261121-100000-abcd.json"
    path.write_bytes(content)
    with pytest.raises(SessionError) as caught:
        store.load("20261121-100000-abcd")
    message = str(caught.value)
    assert str(path) in message and problem in message and "left as it is" in message
    # A new session with that id (however it came about) gets a fresh id, not the file.
    session = full_session()
    saved = store.save(session)
    assert session.id != "20261121-100000-abcd"
    assert saved.name == f"{session.id}.json"
    listed = {s.id: s.problem is not None for s in store.list()}
    assert listed == {"20261121-100000-abcd": True, session.id: False}
    listed = [s for s in store.list() if s.problem]
    assert problem in (listed[0].problem or "")
    assert path.read_bytes() == content


def test_a_file_changed_by_someone_else_is_not_written_over(tmp_path: Path) -> None:
    mine = SessionStore(tmp_path)
    session = full_session()
    path = mine.save(session)
    theirs = SessionStore(tmp_path)
    other = theirs.load(session.id)
    other.title = "their change"
    theirs.save(other)
    assert mine.changed_on_disk(session)
    session.title = "my change"
    with pytest.raises(SessionConflict, match="changed on disk"):
        mine.save(session)
    assert SessionStore(tmp_path).load(session.id).title == "their change"
    old = mine.fork(session)
    assert old == "20261121-100000-abcd" != session.id
    assert mine.save(session).name == f"{session.id}.json"
    assert path.exists()


def test_a_file_removed_by_someone_else_is_not_brought_back_silently(tmp_path: Path) -> None:
    mine = SessionStore(tmp_path)
    session = full_session()
    path = mine.save(session)
    path.unlink()
    with pytest.raises(SessionConflict):
        mine.save(session)


def test_our_own_saves_are_not_conflicts(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    session = full_session()
    for n in range(5):
        session.title = f"take {n}"
        store.save(session)
        assert not store.changed_on_disk(session)
    again = SessionStore(tmp_path)
    loaded = again.load(session.id)
    loaded.title = "reloaded"
    again.save(loaded)


def test_a_file_whose_name_is_not_its_id_is_refused(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    (tmp_path / "20261121-999999-ffff.json").write_bytes(encode(full_session(), "json"))
    with pytest.raises(SessionError, match="holds session '20261121-100000-abcd'.*rename"):
        store.load("20261121-999999-ffff")
    (listed,) = store.list()
    assert listed.id == "20261121-999999-ffff" and "holds session" in (listed.problem or "")


def test_the_same_id_in_both_formats_is_named(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save(full_session())
    (tmp_path / "20261121-100000-abcd.toml").write_bytes(encode(full_session(), "toml"))
    with pytest.raises(SessionError, match=r"\.json and .*\.toml.*remove one"):
        store.load("20261121-100000-abcd")
    with pytest.raises(SessionError, match=r"\.json and .*\.toml.*remove one"):
        store.load("20261121-1000")


def test_a_session_from_a_newer_chatterm_is_left_alone(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    data = json.loads(encode(full_session(), "json"))
    data["chatterm_session"] = SCHEMA_VERSION + 1
    path = tmp_path / "20261121-100000-abcd.json"
    content = json.dumps(data).encode()
    path.write_bytes(content)
    with pytest.raises(SessionError, match="newer chatterm.*upgrade"):
        store.load("20261121-100000-abcd")
    with pytest.raises(SessionError):
        store.rename("20261121-100000-abcd", "new title")
    assert "newer chatterm" in (store.list()[0].problem or "")
    assert path.read_bytes() == content


def test_a_failed_write_leaves_the_old_file_and_no_litter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore(tmp_path / "s")
    session = full_session()
    path = store.save(session)
    before = path.read_bytes()

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    session.title = "changed"
    with pytest.raises(SessionError) as caught:
        store.save(session)
    message = str(caught.value)
    assert "the disk is full" in message and "kept in memory" in message and str(path) in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_a_read_only_folder_gives_a_clear_message(tmp_path: Path) -> None:
    if not file_privileges_can_be_dropped():
        pytest.skip("root here cannot give up writing anywhere")
    folder = tmp_path / "sessions"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with (
            without_file_privileges(),
            pytest.raises(SessionError, match="cannot save the session.*Permission denied"),
        ):
            SessionStore(folder).save(full_session())
    finally:
        folder.chmod(0o700)


def test_rename_and_delete(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save(full_session())
    renamed = store.rename("20261121-100000", "  A   new\nname ")
    assert renamed.title == "A new name"
    assert SessionStore(tmp_path).load("20261121-100000-abcd").title == "A new name"
    path = store.delete("20261121-100000-abcd")
    assert not path.exists()
    assert store.list() == []


def test_listing_summarizes_newest_first(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    older = full_session(session_id="20261120-100000-0001")
    older.updated = "2026-11-20T10:00:00.000Z"
    newer = full_session(turns=3, session_id="20261121-100000-0002")
    newer.updated = "2026-11-21T10:00:00.000Z"
    newer.turns[0].model = "openai:gpt-5-mini"
    newer.turns[1].cost = None
    for session in (older, newer):
        store.save(session)
    first, second = store.list()
    assert (first.id, second.id) == ("20261121-100000-0002", "20261120-100000-0001")
    assert first.turns == 3
    assert first.models == ("openai:gpt-5-mini", "demo")
    assert first.cost_usd == pytest.approx(0.00084)
    assert first.cost_unknown == 1
    assert first.preview == "question 0"
    assert first.matches("ARITH gpt-5") and first.matches("2026-11-21")
    assert not first.matches("arith claude")


def test_the_index_is_a_cache_that_heals(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    for n in range(3):
        store.save(full_session(session_id=f"20261121-10000{n}-aaaa"))
    listed = store.list()
    index = tmp_path / INDEX_NAME
    assert index.exists()
    # Missing, corrupt, or from another version: rebuilt from the files.
    for damage in (b"", b"{not json", b'{"chatterm_index": 99, "entries": {}}', b"[]"):
        index.write_bytes(damage)
        assert store.list() == listed
        assert json.loads(index.read_bytes())["chatterm_index"] == INDEX_VERSION
    index.unlink()
    assert store.list() == listed
    # A changed file is read again; a deleted one drops out.
    session = store.load("20261121-100001-aaaa")
    session.title = "changed"
    store.save(session)
    (tmp_path / "20261121-100002-aaaa.json").unlink()
    titles = {s.id: s.title for s in store.list()}
    assert titles == {"20261121-100001-aaaa": "changed", "20261121-100000-aaaa": "Arithmetic"}


def test_a_bad_index_entry_is_reread_from_the_file(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save(full_session())
    store.list()
    index = tmp_path / INDEX_NAME
    data = json.loads(index.read_bytes())
    name = next(iter(data["entries"]))
    for damage in ("yaml", None):
        entry = data["entries"][name]
        entry[3 + data["fields"].index("format")] = damage
        index.write_text(json.dumps(data))
        assert store.list()[0].format == "json"
    for damage in ({"a": 1}, [1], "x", None):
        data["entries"][name] = damage
        index.write_text(json.dumps(data))
        assert store.list()[0].format == "json"
    data["fields"] = ["id"]
    index.write_text(json.dumps(data))
    assert store.list()[0].title == "Arithmetic"


def test_listing_ignores_temp_files_and_other_files(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save(full_session())
    (tmp_path / ".20261121-100000-abcd.json.x1.tmp").write_text("{")
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "sub.json").mkdir()
    assert [s.id for s in store.list()] == ["20261121-100000-abcd"]


def test_a_missing_folder_lists_nothing(tmp_path: Path) -> None:
    assert SessionStore(tmp_path / "none").list() == []


def test_listing_five_thousand_sessions(tmp_path: Path) -> None:
    # Correctness at scale; speed is measured in bench/, not asserted here.
    template = json.loads(encode(new_session(session_id="20261121-100000-0000"), "json"))
    for n in range(5000):
        template["id"] = f"20261121-{n:06d}-aaaa"
        template["title"] = f"chat {n}"
        template["updated"] = f"2026-11-21T10:00:00.{n:04d}Z"
        (tmp_path / f"{template['id']}.json").write_text(json.dumps(template))
    store = SessionStore(tmp_path)
    first = store.list()
    assert len(first) == 5000
    assert first[0].title == "chat 4999"
    again = store.list()  # from the index now
    assert again == first
    assert SessionStore(tmp_path).list() == first


def test_a_read_only_disk_gives_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(SessionError, match="cannot save the session.*Read-only file system"):
        SessionStore(tmp_path / "s").save(full_session())


def _index_entries(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / INDEX_NAME).read_bytes())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cost_unknown", None),
        ("turns", -1),
        ("turns", True),
        ("cost_usd", "1"),
        ("models", [1]),
        ("models", "demo"),
        ("file_name", "20261121-100000-ffff.json"),
        ("id", "20261121-100000-ffff"),
        ("title", None),
        ("cost_usd", float("nan")),
        ("cost_estimated", 1),
        ("transient", 0),
        ("problem", 0),
    ],
)
def test_a_damaged_index_value_is_never_trusted(tmp_path: Path, field: str, value: object) -> None:
    store = SessionStore(tmp_path)
    store.save(full_session())
    expected = store.list()
    data = _index_entries(tmp_path)
    (record,) = data["entries"].values()
    record[3 + data["fields"].index(field)] = value
    (tmp_path / INDEX_NAME).write_text(json.dumps(data))
    assert store.list() == expected


def test_an_intact_index_lists_without_opening_a_session_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore(tmp_path)
    for n in range(3):
        store.save(full_session(session_id=f"20261121-10000{n}-aaaa"))
    expected = store.list()
    opened: list[str] = []
    real_read = store_module.read_regular

    def counting(path: Path, *, limit: int) -> bytes:
        opened.append(path.name)
        return real_read(path, limit=limit)

    monkeypatch.setattr(store_module, "read_regular", counting)
    (tmp_path / expected[0].file_name).touch()  # one file changed: only it is read again
    assert store.list() == expected
    assert opened == [expected[0].file_name]


def test_an_entry_that_claims_another_file_is_reread(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save(full_session(session_id="20261121-100000-aaaa"))
    store.save(full_session(session_id="20261121-100000-bbbb"))
    expected = store.list()
    data = _index_entries(tmp_path)
    entries = data["entries"]
    entries["20261121-100000-aaaa.json"] = entries["20261121-100000-bbbb.json"]
    (tmp_path / INDEX_NAME).write_text(json.dumps(data))
    assert store.list() == expected


def test_a_passing_read_problem_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not file_privileges_can_be_dropped():
        pytest.skip("root here cannot give up reading mode-000 files")
    store = SessionStore(tmp_path)
    path = store.save(full_session())
    (tmp_path / INDEX_NAME).unlink(missing_ok=True)
    path.chmod(0)
    with without_file_privileges():
        (listed,) = store.list()
        assert "permission denied" in (listed.problem or "")
        path.chmod(0o600)  # fixed without the file changing: read again
        (listed,) = store.list()
    assert listed.problem is None and listed.title == "Arithmetic"


def test_a_hostile_value_in_one_file_does_not_hide_the_others(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save(full_session(session_id="20261121-100000-aaaa"))
    raw = encode(full_session(session_id="20261121-100000-bbbb"), "json")
    (tmp_path / "20261121-100000-bbbb.json").write_bytes(
        raw.replace(b'"ttft_ms": 120.5', b'"ttft_ms": NaN')
    )
    listed = {s.id: s.problem for s in store.list()}
    assert listed["20261121-100000-aaaa"] is None
    assert "NaN" in (listed["20261121-100000-bbbb"] or "")


def test_temp_files_orphaned_by_a_kill_are_tidied(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save(full_session())
    old = tmp_path / ".20261121-100000-abcd.json.x1y2.tmp"
    new = tmp_path / ".20261121-100000-abcd.json.z3w4.tmp"
    old.write_text("{partial")
    new.write_text("{in flight")
    os.utime(old, (1_000_000, 1_000_000))
    store.list()
    assert not old.exists()
    assert new.exists()  # maybe a write in progress right now
