"""The loop speed selector for the toolbar: 0.1x to 4x, also driven by + and -."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

SPEEDS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


class SpeedControl(QComboBox):
    speedChosen = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for speed in SPEEDS:
            self.addItem(f"{speed:g}x", speed)
        self.setCurrentIndex(SPEEDS.index(1.0))
        self.setToolTip("Loop speed: every sleep, timer and timeout follows it (+ / - keys)")
        self.setAccessibleName("Loop speed")
        self.activated.connect(lambda index: self.speedChosen.emit(SPEEDS[index]))

    def show_speed(self, speed: float) -> None:
        nearest = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - speed))
        self.setCurrentIndex(nearest)

    @staticmethod
    def faster(speed: float) -> float:
        return next((s for s in SPEEDS if s > speed + 1e-9), SPEEDS[-1])

    @staticmethod
    def slower(speed: float) -> float:
        return next((s for s in reversed(SPEEDS) if s < speed - 1e-9), SPEEDS[0])
