"""The demo gallery on its own: groups stay open, demos are picked and run."""

from __future__ import annotations

from coroscope import demos
from coroscope.widgets.views.gallery import DemoGallery
from PySide6.QtCore import Qt


def _gallery(qtbot) -> DemoGallery:
    gallery = DemoGallery()
    qtbot.addWidget(gallery)
    gallery.resize(260, 600)
    gallery.show()
    qtbot.waitExposed(gallery)
    return gallery


def test_a_group_header_stays_open_on_double_click_and_enter(qtbot):
    gallery = _gallery(qtbot)
    tree = gallery.tree
    header = tree.topLevelItem(0)
    assert header.isExpanded()
    qtbot.mouseDClick(
        tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(header).center()
    )
    assert header.isExpanded()  # there is no arrow to open it again
    tree.setCurrentItem(header)
    with qtbot.assertNotEmitted(gallery.demoActivated):
        qtbot.keyClick(tree, Qt.Key.Key_Return)
    assert header.isExpanded()
    tree.setCurrentItem(header)
    qtbot.keyClick(tree, Qt.Key.Key_Left)  # the key that collapses a tree item
    assert all(tree.topLevelItem(i).isExpanded() for i in range(tree.topLevelItemCount()))


def test_enter_on_a_demo_asks_to_run_it(qtbot):
    gallery = _gallery(qtbot)
    gallery.select(demos.DEMOS[0].key)
    with qtbot.waitSignal(gallery.demoActivated, timeout=1000) as run:
        qtbot.keyClick(gallery.tree, Qt.Key.Key_Return)
    assert run.args == [demos.DEMOS[0].key]


def test_no_demo_explanation_widens_the_gallery(qtbot):
    gallery = _gallery(qtbot)
    widths = {}
    for demo in demos.DEMOS:
        gallery.select(demo.key)
        widths[demo.key] = gallery.minimumSizeHint().width()
    # The dock starts about 250 px wide; a long code word used to ask for 360.
    assert max(widths.values()) <= 200, widths
