"""Coroscope: watch asyncio run.

The package splits into a Qt-free core (events, clock, scheduler, tracer, models,
trace export, script loading) and a thin Qt edge (the qasync loop subclass, the main
window wiring). ``tests/test_layering.py`` checks that the core imports without Qt.
"""

__version__ = "0.1.0"
APP_NAME = "Coroscope"
