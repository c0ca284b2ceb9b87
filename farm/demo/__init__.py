"""The demo farm: dozens of establishments on stand-ins, synced by the real engine.

``farm demo`` uses :class:`~farm.demo.run.Demo` to generate a directory,
start the Moodle simulator and a directory (a private slapd, or an embedded
stand-in), write a farm folder and load it into a registry, then runs a
batch through the real coordinator, sources and Moodle client.
"""

from farm.demo.run import Demo, DemoOptions, dashboard, headless

__all__ = ["Demo", "DemoOptions", "dashboard", "headless"]
