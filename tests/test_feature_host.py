"""Features reach the window only through the FeatureHost protocol."""

from __future__ import annotations

import ast
from pathlib import Path

from coroscope.widgets.features.host import FeatureHost

FEATURES = Path(__file__).resolve().parent.parent / "widgets" / "features"
# What features may set on their host: each one keeps itself there for the others.
KEPT = {"classroom", "recording", "script_feature"}


def _protocol_members() -> set[str]:
    tree = ast.parse((FEATURES / "host.py").read_text())
    (host,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "FeatureHost"]
    members = set()
    for node in host.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            members.add(node.target.id)
        elif isinstance(node, ast.FunctionDef):
            members.add(node.name)
    return members


def _uses_of_the_host(source: str) -> set[str]:
    """Attributes read from ``window`` or ``self.window`` anywhere in a module."""
    used = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute) or isinstance(node.ctx, ast.Store):
            continue
        owner = node.value
        if (isinstance(owner, ast.Name) and owner.id in ("window", "w")) or (
            isinstance(owner, ast.Attribute)
            and owner.attr == "window"
            and isinstance(owner.value, ast.Name)
            and owner.value.id == "self"
        ):
            used.add(node.attr)
    return used


def test_features_use_only_what_the_protocol_names():
    allowed = _protocol_members()
    assert {"controller", "add_dock", "intent", "statusBar"} <= allowed
    for module in sorted(FEATURES.glob("*.py")):
        extra = _uses_of_the_host(module.read_text()) - allowed - KEPT
        assert not extra, f"{module.name} uses {sorted(extra)} of the window, not in FeatureHost"


def test_the_scanner_sees_a_private_member():
    assert _uses_of_the_host("def f(window):\n    window._intent(1)\n") == {"_intent"}
    assert _uses_of_the_host("class F:\n    def g(self):\n        self.window.tick()\n") == {"tick"}


def test_the_main_window_is_a_feature_host(window):
    assert isinstance(window, FeatureHost)
    assert window.classroom is not None and window.recording is not None
