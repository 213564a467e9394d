"""No two actions in the main window share a shortcut (an ambiguous shortcut fires neither)."""

from collections import Counter

from PySide6.QtGui import QKeySequence


def test_every_shortcut_is_unique(window):
    keys = Counter()
    for action in window.findChildren(type(window.run_action)):
        for sequence in action.shortcuts():
            text = sequence.toString(QKeySequence.SequenceFormat.PortableText)
            if text:
                keys[text] += 1
    clashes = {key: count for key, count in keys.items() if count > 1}
    assert clashes == {}
