"""The task actions (cancel, wake, delay, set remaining, run again) as menu items.

Lanes and stage rings offer the same actions; both views carry the same intent
signals and build their menus here so the wording and shortcuts match.
"""

from __future__ import annotations

from collections.abc import Callable

from coroscope.models.task_model import TaskRow
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QWidget


def task_actions(
    view: QWidget, row: TaskRow, edit_remaining: Callable[[int], object]
) -> list[QAction]:
    """Actions for one task; ``view`` must have the task intent signals."""
    sleeping = row.state == "sleep"
    specs = [
        ("Cancel task", "Delete", row.live, lambda: view.cancelRequested.emit(row.id)),
        ("Wake now", "W", sleeping, lambda: view.wakeRequested.emit(row.id)),
        ("Delay +1 s", "D", sleeping, lambda: view.delayRequested.emit(row.id, 1.0)),
        ("Set remaining time…", "Enter", sleeping, lambda: edit_remaining(row.id)),
        ("Run again", "R", not row.live, lambda: view.rerunRequested.emit(row.id)),
    ]
    actions = []
    for text, key, enabled, slot in specs:
        action = QAction(f"{text}\t{key}", view)
        action.setEnabled(enabled)
        action.triggered.connect(slot)
        actions.append(action)
    if row.traceback:
        copy = QAction("Copy traceback", view)
        copy.triggered.connect(lambda: QApplication.clipboard().setText(row.traceback or ""))
        actions.append(copy)
    return actions
