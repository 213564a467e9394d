"""The app's name and version, for window titles, ``--version`` and trace files."""

__version__ = "0.1.0"
APP_NAME = "Coroscope"
