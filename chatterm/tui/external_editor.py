"""Writing the prompt in the user's own editor: ``$VISUAL``, else ``$EDITOR``.

The prompt's text goes to a private temporary file (mode 0600, ``.md`` so editors
highlight it as Markdown), the editor runs on it in the foreground, and the file is read
back and removed, whatever happened. :func:`edit_in_editor` is a plain function (no
Textual): the chat screen calls it with the terminal handed over (``App.suspend``), and
tests run it with a real process.

The command is split as a shell would (``code --wait``, ``"/opt/My Editor/bin/ed" -n``),
but no shell runs it. What comes back may hold anything: it is read as UTF-8 with
undecodable bytes replaced, one trailing newline (which editors add) is dropped, and
past :data:`EDIT_LIMIT` it is cut, with a note. Nothing here raises for a failure the user
can fix: :class:`Edited` carries the text, or why there is none (one line).

While the editor runs, Ctrl+C belongs to it: the terminal sends SIGINT to the whole
foreground process group, chatterm included, and chatterm must not end because the user
interrupted the editor. So chatterm's own SIGINT is caught and dropped meanwhile (the
editor, after ``exec``, has the default handler again).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import shlex
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from chatterm.files import FileTooLarge, file_problem, read_regular

EDIT_LIMIT = 1 << 20  # a prompt is text; past this it is cut (with a note)
EDITOR_VARIABLES = ("VISUAL", "EDITOR")
NO_EDITOR = 'No editor set: set $VISUAL or $EDITOR (e.g. export VISUAL="code --wait").'


@dataclass(frozen=True, slots=True)
class Edited:
    """What the editor gave back: the text, or (``text`` None) why the prompt stays as it
    was; ``note`` is said alongside a text that was changed on the way (cut)."""

    text: str | None
    problem: str | None = None
    note: str | None = None


def editor_command(env: Mapping[str, str]) -> tuple[list[str] | None, str | None]:
    """The editor's command line from ``$VISUAL``, else ``$EDITOR``, split as a shell
    would: ``(command, None)``, or ``(None, why not)`` when neither is set or the value
    cannot be split (an unclosed quote)."""
    for name in EDITOR_VARIABLES:
        value = env.get(name, "")
        if not value.strip():
            continue
        try:
            command = shlex.split(value)
        except ValueError as error:  # No closing quotation
            return None, f"${name} cannot be read as a command ({error}); fix its quotes."
        if command:
            return command, None
    return None, NO_EDITOR


def edit_in_editor(text: str, command: Sequence[str], *, limit: int = EDIT_LIMIT) -> Edited:
    """Run ``command`` on a private temporary file holding ``text``; the file's text when
    the editor exits with status 0, else why not. The file is removed in every case."""
    try:
        fd, raw_path = tempfile.mkstemp(prefix="chatterm-prompt-", suffix=".md")
    except OSError as error:
        return Edited(None, f"cannot create a file for the editor: {file_problem(error)}")
    path = Path(raw_path)
    try:
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(text.encode("utf-8", "replace"))
        except OSError as error:
            return Edited(None, f"cannot write {path} for the editor: {file_problem(error)}")
        problem = _run(command, path)
        if problem is not None:
            return Edited(None, f"{problem}; the prompt is left as it was")
        return _read_back(path, limit)
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def _run(command: Sequence[str], path: Path) -> str | None:
    """Run the editor in the foreground; None when it exited with status 0, else why not."""
    name = command[0]
    try:
        with _sigint_left_to_the_editor():
            status = subprocess.run([*command, str(path)], check=False).returncode
    except FileNotFoundError:
        return f"the editor {name!r} was not found (check $VISUAL / $EDITOR)"
    except PermissionError:
        return f"the editor {name!r} cannot be run: permission denied"
    except OSError as error:
        return f"the editor {name!r} cannot be started: {error.strerror or error}"
    if status < 0:
        try:
            signal_name = signal.Signals(-status).name
        except ValueError:
            signal_name = f"signal {-status}"
        return f"the editor {name!r} was stopped by {signal_name}"
    if status != 0:
        return f"the editor {name!r} exited with status {status}"
    return None


@contextlib.contextmanager
def _sigint_left_to_the_editor() -> Iterator[None]:
    """Ignore Ctrl+C here while the block runs (a handler, not SIG_IGN: a child gets the
    default action back when it starts, where an ignored signal would stay ignored)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers
        return

    def dropped(signum: int, frame: FrameType | None) -> None:
        pass

    previous = signal.signal(signal.SIGINT, dropped)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _read_back(path: Path, limit: int) -> Edited:
    """The edited file as text: UTF-8 (bad bytes replaced), one trailing newline dropped,
    cut at ``limit`` bytes (on a whole character) with a note."""
    try:
        try:
            data = read_regular(path, limit=limit)
            cut = False
        except FileTooLarge:
            with path.open("rb") as file:
                data = file.read(limit)
            cut = True
    except OSError as error:
        problem = f"cannot read the edited text back from {path}: {file_problem(error)}"
        return Edited(None, f"{problem}; the prompt is left as it was")
    # A cut may end inside a character: the incremental decoder keeps that tail back.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data, final=not cut)
    note = None
    if cut:
        size = f"{limit >> 20} MB" if limit >= 1 << 20 else f"{limit:,} bytes"
        note = f"The edited text is longer than {size}: only its first {size} are kept."
    elif text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    return Edited(text, note=note)
