"""Recording a widget while the app runs, at a fixed frame rate, without stutter.

Qt widgets can only be grabbed on the GUI thread, so a ``QTimer`` grabs there;
each frame is copied out and handed to an ``EncoderThread``, so the GUI thread
never waits for the encoder. A grab costs a few milliseconds; encoding a frame
costs more, and happens on the other core.

Timing follows the wall clock: frame ``n`` of the take shows the widget as it
looked about ``n / fps`` seconds after the start. When the GUI thread falls
behind (a demo that blocks the loop freezes the window too), the next grab fills
every missed frame slot, so the take keeps real time and shows the freeze as the
user saw it. If the encoder's queue is full the grab waits for the next tick
instead of blocking the GUI.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from coroscope.takes.video_encoder import EncoderError, EncoderThread, VideoEncoder
from coroscope.widgets.features.frame_grabber import FrameGrabber
from coroscope.widgets.paint import theme
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QWidget

# Frames waiting for the encoder are full-size copies (a 1360x860 window is
# 4.7 MB a frame): bound the queue to about a second of frames and this many bytes.
MAX_QUEUE_BYTES = 160 * 1024 * 1024


class LiveRecorder:
    def __init__(
        self,
        widget: QWidget,
        path: str | Path,
        fps: int = 30,
        background: str = "#000000",
        now: Callable[[], float] = time.monotonic,
        while_grabbing: Callable[[], AbstractContextManager] = contextlib.nullcontext,
    ) -> None:
        self.widget = widget
        self.fps = fps
        self._now = now
        self._while_grabbing = while_grabbing
        self.grabber = FrameGrabber(widget, background=background)
        width, height = self.size = self.grabber.size
        queue = max(2, min(fps, MAX_QUEUE_BYTES // (width * height * 4)))
        encoder = VideoEncoder(path, self.size, fps, theme.current().swatches())
        self.encoder = EncoderThread(encoder, max_queue=queue)
        self.frames = 0  # frame slots filled, repeats included
        self.repeated = 0  # slots filled by repeating a grab because the GUI was late
        self.started = now()
        self.stopped_at: float | None = None
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(max(1, round(1000 / fps)))
        self.timer.timeout.connect(self.capture)
        self.capture()
        self.timer.start()

    @property
    def recording(self) -> bool:
        return self.stopped_at is None

    @property
    def elapsed(self) -> float:
        end = self.stopped_at if self.stopped_at is not None else self._now()
        return end - self.started

    @property
    def video_seconds(self) -> float:
        return self.frames / self.fps

    def capture(self, block: bool = False, at: float | None = None) -> None:
        """Fill every frame slot due by ``at`` (default: now) with a fresh grab."""
        if not self.recording or self.encoder.error is not None:
            return
        at = self._now() if at is None else at
        due = int((at - self.started) * self.fps) + 1
        missing = due - self.frames
        if missing <= 0:
            return
        with self._while_grabbing():
            frame = self.grabber.grab()
        try:
            accepted = self.encoder.put(frame, repeat=missing, block=block)
        except EncoderError:
            self.timer.stop()  # the error is read from ``error`` on the next tick
            return
        if accepted:
            self.frames += missing
            self.repeated += missing - 1

    def stop(self) -> None:
        """End the take; the encoder finishes on its thread (watch ``done``)."""
        if not self.recording:
            return
        self.timer.stop()
        # The last grab may wait for the encoder once, so the take lasts exactly
        # as long as the recording did.
        end = self._now()
        self.capture(block=True, at=end)
        self.stopped_at = end
        if self.encoder.error is None:
            self.encoder.finish(wait=False)
        else:
            self.encoder.abort()

    def wait(self) -> Path | None:
        """Block until the file is written (used when the app is closing)."""
        self.stop()
        try:
            return self.encoder.finish(wait=True)
        except EncoderError:
            return None

    def cancel(self) -> None:
        """Stop and delete the take."""
        self.timer.stop()
        if self.stopped_at is None:
            self.stopped_at = self._now()
        self.encoder.abort()

    @property
    def done(self) -> bool:
        return self.encoder.done.is_set()

    @property
    def error(self) -> BaseException | None:
        return self.encoder.error

    @property
    def path(self) -> Path | None:
        return self.encoder.path
