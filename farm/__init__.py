"""Moodle farm orchestrator: feed many Moodle sites from school directories.

The public surface is small on purpose; everything else lives in private
modules and may change between releases.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("moodle-farm")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0"

__all__ = ["__version__"]
