"""Sessions keep their attachments: a turn references each file (name, kind, size, hash),
the bytes are stored once by hash beside the sessions, read back and checked for the
history, and removed with the last session that references them."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest
from session_factory import full_turn

from chatterm.attachments import make_attachment
from chatterm.events import Attachment
from chatterm.pricing import Cost
from chatterm.sessions.attachment_store import (
    AttachmentStore,
    AttachmentStoreError,
    AttachmentUnavailable,
)
from chatterm.sessions.codec import SESSION_FORMATS, SessionFormat, decode, encode
from chatterm.sessions.document import document_version
from chatterm.sessions.export import to_markdown
from chatterm.sessions.index import INDEX_NAME
from chatterm.sessions.keeper import SessionKeeper
from chatterm.sessions.model import (
    SCHEMA_VERSION,
    AttachmentRef,
    Session,
    SessionFormatError,
    new_session,
)
from chatterm.sessions.store import SessionStore, sessions_dir
from tests.test_files_and_disk import BrokenDisk

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x08" + bytes(40)
DIAGRAM = make_attachment("diagram.png", PNG)
NOTES = make_attachment("notes.txt", b"def f():\n    return 4\n")
HOSTILE_NAME = "\x1b[31mred\x1b[0m\u202egnp.exe\nline two.txt"
HOSTILE = make_attachment(HOSTILE_NAME, b"plain text\n")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def attached_session(*files: Attachment, session_id: str = "20261207-100000-att1") -> Session:
    session = new_session(session_id=session_id)
    session.title = "With files"
    turn = full_turn("what is in these?", "a diagram and some code")
    turn.attachments = tuple(map(AttachmentRef.of, files))
    session.add(turn)
    session.add(full_turn("and then?", "nothing more"))
    return session


def keeper_with(store: SessionStore, *files: Attachment) -> SessionKeeper:
    """A keeper whose session has one finished turn with ``files`` attached, saved."""
    keeper = SessionKeeper(store)
    recorder = keeper.begin_turn("what is in these?", "demo", attachments=files)
    recorder.done(full_turn(answer="a diagram and some code").to_reply())
    keeper.writer.wait()
    return keeper


# -- the session file ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
def test_attachments_round_trip_in_either_format(fmt: SessionFormat) -> None:
    session = attached_session(DIAGRAM, NOTES, HOSTILE)
    raw = encode(session, fmt)
    back = decode(raw, fmt)
    assert back == session
    assert back.version == 6 and back.tree[0].attachments == session.tree[0].attachments
    assert back.tree[1].attachments == ()
    assert PNG not in raw and b"def f()" not in raw  # only references, never the bytes
    assert b"\x1b" not in raw and "\u202e".encode() not in raw  # written escaped


def test_the_json_turn_holds_each_reference() -> None:
    data = json.loads(encode(attached_session(DIAGRAM), "json"))
    assert data["chatterm_session"] == 6
    [ref] = data["turns"][0]["attachments"]
    assert ref == {
        "name": "diagram.png",
        "kind": "image",
        "media_type": "image/png",
        "size": len(PNG),
        "sha256": DIAGRAM.sha256,
    }
    assert "attachments" not in data["turns"][1]  # written only when there are some


def test_version_6_only_for_a_file_that_holds_attachments() -> None:
    session = attached_session()
    assert document_version(session) == 2
    assert "attachments" not in json.loads(encode(session, "json"))["turns"][0]
    session.tree[0].compacts = True
    assert document_version(session) == 4
    session.tree[1].attachments = (AttachmentRef.of(NOTES),)  # off the active path too
    session.rewind(1)
    assert document_version(session) == 6
    assert SCHEMA_VERSION == 6


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
@pytest.mark.parametrize("version", [2, 3, 4, 5])
def test_older_versions_still_read(fmt: SessionFormat, version: int) -> None:
    session = attached_session()
    if version >= 3:
        session.tree[1].cost = Cost(0.0, "shared")
    if version >= 4:
        session.tree[1].compacts = True
    if version >= 5:
        session.tree[1].system = "Answer in French."  # a role chosen mid-chat
    raw = encode(session, fmt)
    back = decode(raw, fmt)
    assert back.version == version and back == session
    assert all(turn.attachments == () for turn in back.tree)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"sha256": "../../../etc/passwd"}, "sha256 must be 64 lowercase hex digits"),
        ({"sha256": "A" * 64}, "sha256 must be 64 lowercase hex digits"),
        ({"sha256": "a" * 64 + "\n"}, "sha256 must be 64 lowercase hex digits"),
        ({"kind": "binary"}, "kind 'binary' is unknown"),
        ({"size": -1}, "size must be a whole number"),
        ({"name": 7}, "name must be text"),
    ],
)
def test_a_reference_that_is_not_one_is_refused_by_where(
    change: dict[str, object], where: str
) -> None:
    data = json.loads(encode(attached_session(DIAGRAM), "json"))
    data["turns"][0]["attachments"][0].update(change)
    with pytest.raises(SessionFormatError, match=r"turns\[0\]\.attachments\[0\]\.") as caught:
        decode(json.dumps(data).encode(), "json")
    assert where in str(caught.value)


# -- the store ----------------------------------------------------------------------------


def test_the_store_lives_beside_the_sessions(isolated_home: Path) -> None:
    assert SessionStore().attachments.folder == isolated_home / "data" / "attachments"
    assert SessionStore().attachments.folder.parent == sessions_dir().parent


def test_put_writes_each_file_once_by_hash_privately(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path / "data" / "attachments")
    ref = store.put(DIAGRAM)
    assert ref == AttachmentRef("diagram.png", "image", "image/png", len(PNG), DIAGRAM.sha256)
    path = store.folder / DIAGRAM.sha256
    assert path.read_bytes() == PNG
    assert _mode(path) == 0o600 and _mode(store.folder) == 0o700
    stamp = path.stat().st_mtime_ns, path.stat().st_ino
    store.put(make_attachment("copy of the diagram.png", PNG))  # same bytes: not rewritten
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == stamp
    assert sorted(p.name for p in store.folder.iterdir()) == [DIAGRAM.sha256]
    assert store.load(ref) == PNG and store.check(ref) is None


def test_put_replaces_a_damaged_copy_and_refuses_bytes_that_are_not_their_hash(
    tmp_path: Path,
) -> None:
    store = AttachmentStore(tmp_path / "attachments")
    ref = store.put(NOTES)
    path = store.folder / NOTES.sha256
    path.write_bytes(NOTES.data.upper())  # the same size, other bytes
    with pytest.raises(AttachmentUnavailable, match="damaged"):
        store.load(ref)
    store.put(NOTES)
    assert store.load(ref) == NOTES.data
    forged = Attachment("x.txt", "text", "text/plain", b"other", NOTES.sha256)
    with pytest.raises(AttachmentStoreError, match="no longer match its hash"):
        store.put(forged)
    assert store.load(ref) == NOTES.data


def test_put_never_writes_through_a_link(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path / "attachments")
    store.folder.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"untouched")
    (store.folder / NOTES.sha256).symlink_to(outside)
    with pytest.raises(AttachmentUnavailable, match="not a regular file"):
        store.load(AttachmentRef.of(NOTES))  # a link is not followed, even to the right bytes
    store.put(NOTES)
    assert outside.read_bytes() == b"untouched"
    assert not (store.folder / NOTES.sha256).is_symlink()
    assert store.load(AttachmentRef.of(NOTES)) == NOTES.data


def test_missing_damaged_and_resized_files_are_told_apart(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path / "attachments")
    ref = store.put(DIAGRAM)
    path = store.folder / DIAGRAM.sha256
    path.write_bytes(PNG + b"more")
    problem = store.check(ref)
    assert problem is not None and "is not the size recorded" in str(problem)
    with pytest.raises(AttachmentUnavailable, match="no longer matches its hash"):
        store.load(ref)
    path.unlink()
    problem = store.check(ref)
    assert problem is not None and "is missing from" in str(problem)
    with pytest.raises(AttachmentUnavailable, match="is missing from"):
        store.load(ref)


def test_a_full_disk_is_one_line_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AttachmentStore(tmp_path / "attachments")
    disk = BrokenDisk(monkeypatch, store.folder, ("mkstemp", errno.ENOSPC))
    disk.broken = True
    with pytest.raises(AttachmentStoreError) as caught:
        store.put(DIAGRAM)
    message = str(caught.value)
    assert "\n" not in message and "diagram.png" in message and "the disk is full" in message
    assert not (store.folder / DIAGRAM.sha256).exists()


# -- the keeper ---------------------------------------------------------------------------


def test_begin_turn_stores_the_files_before_the_prompt_is_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore(tmp_path / "sessions")
    order: list[str] = []
    real_put, real_commit = store.attachments.put, store.commit

    def put(attachment: Attachment) -> AttachmentRef:
        ref = real_put(attachment)
        order.append(f"stored {attachment.name}")
        return ref

    def commit(path: Path, data: bytes) -> None:
        on_disk = sorted(p.name for p in store.attachments.folder.iterdir())
        order.append(f"saved with {len(on_disk)} files")
        real_commit(path, data)

    monkeypatch.setattr(store.attachments, "put", put)
    monkeypatch.setattr(store, "commit", commit)
    keeper = SessionKeeper(store)
    recorder = keeper.begin_turn("look", "demo", attachments=(DIAGRAM, NOTES))
    keeper.writer.wait()
    assert order[:3] == ["stored diagram.png", "stored notes.txt", "saved with 2 files"]
    assert recorder.turn.attachments == (AttachmentRef.of(DIAGRAM), AttachmentRef.of(NOTES))
    saved = SessionStore(tmp_path / "sessions").load(recorder.session.id)
    assert saved.version == 6 and saved.turns[0].attachments == recorder.turn.attachments


def test_a_file_that_cannot_be_stored_records_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore(tmp_path / "sessions")
    disk = BrokenDisk(monkeypatch, store.attachments.folder, ("mkstemp", errno.ENOSPC))
    disk.broken = True
    keeper = SessionKeeper(store)
    with pytest.raises(AttachmentStoreError) as caught:
        keeper.begin_turn("look", "demo", attachments=(NOTES,))
    assert "\n" not in str(caught.value) and "notes.txt" in str(caught.value)
    with pytest.raises(AttachmentStoreError):
        keeper.begin_alternatives("look", ["demo", "demo:fast"], attachments=(NOTES,))
    keeper.close()
    assert keeper.session is None
    assert not store.folder.exists() or not list(store.folder.iterdir())


def test_a_continued_session_sends_its_files_again(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    first = keeper_with(store, DIAGRAM, NOTES)
    session_id = first.session.id if first.session else ""
    first.close()

    keeper = SessionKeeper(SessionStore(tmp_path / "sessions"))
    keeper.open(session_id)
    assert keeper.take_attachment_notices() == []
    user, assistant = keeper.history("next question")
    assert user.content == "what is in these?" and assistant.attachments == ()
    assert user.attachments == (DIAGRAM, NOTES)  # name, kind, media type, bytes, hash


def test_compared_replies_each_carry_the_files(tmp_path: Path) -> None:
    keeper = SessionKeeper(SessionStore(tmp_path / "sessions"))
    recorders = keeper.begin_alternatives("compare", ["demo", "demo:fast"], attachments=(NOTES,))
    keeper.close()
    assert [r.turn.attachments for r in recorders] == [(AttachmentRef.of(NOTES),)] * 2
    assert len(list(keeper.store.attachments.folder.iterdir())) == 1


@pytest.mark.parametrize("damage", ["missing", "damaged"])
def test_a_missing_or_damaged_file_is_reported_once_and_left_out(
    tmp_path: Path, damage: str
) -> None:
    store = SessionStore(tmp_path / "sessions")
    first = keeper_with(store, DIAGRAM, NOTES)
    assert first.session is not None
    session_id = first.session.id
    first.close()
    blob = store.attachments.folder / DIAGRAM.sha256
    if damage == "missing":
        blob.unlink()
    else:
        blob.write_bytes(PNG[:-1] + b"\x01")  # the size recorded, but not the bytes

    keeper = SessionKeeper(SessionStore(tmp_path / "sessions"))
    session = keeper.open(session_id)
    assert [t.attachments for t in session.turns] == [first.session.turns[0].attachments]
    user, _ = keeper.history("next")
    assert user.attachments == (NOTES,)  # sent without it
    [notice] = keeper.take_attachment_notices()
    assert "\n" not in notice
    assert "diagram.png" in notice and session_id in notice
    assert ("is missing from" if damage == "missing" else "is damaged") in notice
    assert keeper.history("again")[0].attachments == (NOTES,)
    assert keeper.take_attachment_notices() == []  # once


def test_a_regenerated_prompt_takes_its_files_along(tmp_path: Path) -> None:
    keeper = keeper_with(SessionStore(tmp_path / "sessions"), NOTES)
    assert keeper.session is not None
    old = keeper.session.turns[-1]
    keeper.session.rewind(0)
    recorder = keeper.begin_turn(old.prompt, "demo", attachments=keeper.attachments_of(old))
    keeper.close()
    assert recorder.turn.attachments == old.attachments


# -- deleting -----------------------------------------------------------------------------


def stored(store: SessionStore) -> set[str]:
    folder = store.attachments.folder
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_deleting_removes_only_the_files_no_other_session_uses(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    for file in (DIAGRAM, NOTES):
        store.attachments.put(file)
    store.save(attached_session(DIAGRAM, NOTES, session_id="20261207-100000-one1"))
    store.save(attached_session(NOTES, session_id="20261207-100000-two2"))
    store.list()  # an index to go by
    store.delete("20261207-100000-one1")
    assert stored(store) == {NOTES.sha256}
    store.delete("20261207-100000-two2")
    assert stored(store) == set()


def test_a_stale_index_is_not_trusted(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    store.attachments.put(DIAGRAM)
    store.save(attached_session(DIAGRAM, session_id="20261207-100000-one1"))
    store.save(attached_session(session_id="20261207-100000-two2"))
    store.list()
    assert "two2" in (tmp_path / "sessions" / INDEX_NAME).read_text()
    # Changed after the index was written (by another chatterm): it references the diagram.
    elsewhere = SessionStore(tmp_path / "sessions")
    other = elsewhere.load("20261207-100000-two2")
    other.tree[1].attachments = (AttachmentRef.of(DIAGRAM),)
    elsewhere.save(other)
    store.delete("20261207-100000-one1")
    assert stored(store) == {DIAGRAM.sha256}


def test_a_file_that_does_not_parse_keeps_every_hash_written_in_it(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    store.attachments.put(DIAGRAM)
    store.save(attached_session(DIAGRAM, session_id="20261207-100000-one1"))
    broken = tmp_path / "sessions" / "20261207-100000-bad1.json"
    broken.write_text(encode(attached_session(DIAGRAM), "json").decode()[:-40])  # cut short
    store.delete("20261207-100000-one1")
    assert stored(store) == {DIAGRAM.sha256}
    assert store.delete("20261207-100000-bad1") == broken  # its hashes are read from its text
    assert stored(store) == set()


def test_the_keeper_keeps_the_files_of_the_open_session(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    store.attachments.put(NOTES)
    store.save(attached_session(NOTES, session_id="20261207-100000-one1"))
    keeper = SessionKeeper(store)
    keeper.session = attached_session(NOTES, session_id="20261207-100000-open")  # not saved
    assert keeper.delete("20261207-100000-one1") is False
    assert stored(store) == {NOTES.sha256}


def test_deleting_the_open_session_removes_its_files(tmp_path: Path) -> None:
    keeper = keeper_with(SessionStore(tmp_path / "sessions"), NOTES)
    assert keeper.session is not None
    assert keeper.delete(keeper.session.id) is True
    assert stored(keeper.store) == set() and keeper.session is None


def test_a_file_that_cannot_be_removed_is_said_after_the_session_is_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore(tmp_path / "sessions")
    store.attachments.put(NOTES)
    path = store.save(attached_session(NOTES))
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.parent == store.attachments.folder:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        real_unlink(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(Exception, match="but cannot remove the stored attachment") as caught:
        store.delete(path.stem)
    assert "\n" not in str(caught.value) and not path.exists()


# -- shown as data ------------------------------------------------------------------------


def test_markdown_lists_the_files_as_plain_text() -> None:
    session = attached_session(DIAGRAM, HOSTILE, make_attachment("</details>*x*.txt", b"t"))
    text = to_markdown(session)
    assert f"Attached:\n\n- diagram\\.png · image · {len(PNG)} B\n" in text
    assert "\x1b" not in text and "\u202e" not in text and "line two" in text
    assert "</details>" not in text.split("Attached:")[1].split("## demo")[0]
    assert "\\<\\/details\\>\\*x\\*\\.txt · text · 1 B" in text


def test_describe_makes_a_name_visible() -> None:
    shown = AttachmentRef.of(HOSTILE).describe()
    assert "\x1b" not in shown and "\u202e" not in shown and "\n" not in shown
    assert shown.endswith(" · text · 11 B")
