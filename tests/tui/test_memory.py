"""Freezing survivors for the garbage collector while a reply streams."""

from __future__ import annotations

import pytest

from chatterm.tui import memory


def test_survivors_are_frozen_once_a_second_whatever_the_frame_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen: list[bool] = []
    monkeypatch.setattr(memory, "freeze_survivors", lambda: frozen.append(True))
    frozen_at = 0.0
    for frame in range(1, 101):  # 4 s at 25 frames a second
        frozen_at = memory.freeze_when_due(frozen_at, frame * 0.04)
    assert len(frozen) == 4 and frozen_at == pytest.approx(4.0)
    for frame in range(1, 5):  # then 4 s at one frame a second: each frame freezes
        frozen_at = memory.freeze_when_due(frozen_at, 4.0 + frame)
    assert len(frozen) == 8
