"""Sizes the stage and the task lanes ask for.

Shared by the views and by the blank stand-ins the main window shows in their
places before the views exist, so both lay the window out alike. No Qt import.
"""

STAGE_HINT = (640, 260)
STAGE_MIN_HEIGHT = 160
LANES_HINT_WIDTH = 720
LANE_ROW_HEIGHT = 34  # pixels at theme scale 1
LANES_HINT_ROWS = 6
