"""A user's script as the window runs it: in a child process, read as it goes.

``script_target(path, controller, on_over)`` makes the Target that Open Script
runs. When the controller starts it, a ``RemoteRun`` (coroscope.host.remote)
starts the child, and socket notifiers hand the child's messages and output to
it as they arrive, so the window never waits on the script: a script that
blocks, spins, crashes or is killed cannot freeze the window.
"""

from __future__ import annotations

from collections.abc import Callable

from coroscope.control.run import Target
from coroscope.host import remote
from coroscope.host.remote import RemoteRun
from PySide6.QtCore import QObject, QSocketNotifier, QTimer

# The child's socket tells of its end, but a process can end with its pipes
# held open by its own children: look for that too, this often (ms).
POLL_MS = 200


class ScriptProcess(QObject):
    """Keeps one ``RemoteRun`` fed from Qt's event loop while it lasts."""

    def __init__(self, run: RemoteRun, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run = run
        self._notifiers: list[QSocketNotifier] = []
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.pump)
        # More than one pump's budget arrived: the rest, as soon as Qt is free.
        self._again = QTimer(self)
        self._again.setSingleShot(True)
        self._again.setInterval(0)
        self._again.timeout.connect(self.pump)

    def watch(self) -> None:
        for fd in self.run.filenos():
            notifier = QSocketNotifier(fd, QSocketNotifier.Type.Read, self)
            notifier.activated.connect(self.pump)
            self._notifiers.append(notifier)
        self._poll.start()

    def pump(self, *_args: object) -> None:
        self.run.pump()
        if self.run.over:
            self.unwatch()
            return
        # A pipe or socket the child has closed must not be watched any more.
        live = set(self.run.filenos())
        for notifier in [n for n in self._notifiers if n.socket() not in live]:
            notifier.setEnabled(False)
            notifier.deleteLater()
            self._notifiers.remove(notifier)
        if self.run.child.backlog and not self._again.isActive():
            self._again.start()  # after this frame is painted

    def unwatch(self) -> None:
        self._poll.stop()
        self._again.stop()
        for notifier in self._notifiers:
            notifier.setEnabled(False)
            notifier.deleteLater()
        self._notifiers.clear()


def script_target(
    path: str,
    controller,
    parent: QObject,
    on_over: Callable[[RemoteRun], None],
    python: str | None = None,
    args: tuple[str, ...] = (),
) -> Target:
    """The Target Open Script runs: ``path`` in a child process, read through
    socket notifiers while it lasts."""

    def watch(run: RemoteRun) -> None:
        process = ScriptProcess(run, parent)

        def over(ended: RemoteRun) -> None:
            process.unwatch()
            process.deleteLater()
            on_over(ended)

        run.on_started = lambda _run: process.watch()
        run.on_over = over

    return remote.script_target(path, controller, python=python, args=args, on_run=watch)
