"""Checks of the directories' course rules against the sites that use them: role names.

A course rule (``[directories.NAME.courses]``, :mod:`farm.sources.sdet.course_rules`)
names Moodle roles by shortname. A site knows the stock roles of Moodle 5.0
and those its ``[site] roles`` table adds (a ``parent`` role, say), so a role
is checked in each site whose establishments read the directory: a name no
such site knows is refused, naming farm.toml's key and the site file. The
rule's own mistakes (unknown attribute, placeholder) are refused when
farm.toml is validated, before this runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from farm.config.files import FileSet, SiteView
from farm.config.problems import Problem, did_you_mean
from farm.site_rules import STOCK_ROLE_IDS


def course_rule_checks(files: FileSet) -> Iterator[Problem]:
    """Each role a directory's course rules name that a site reading it does not have."""
    farm = files.farm
    if farm is None:
        return
    for _, view in sorted(files.views.items()):
        if view.section is None:
            continue
        known = sorted({*STOCK_ROLE_IDS, *view.section.roles})
        for name in _directories_of(view):
            directory = farm.directories.get(name)
            if directory is None:
                continue  # an unknown directory is reported by the site checks
            for loc, role in directory.courses.role_names():
                if role in known:
                    continue
                hint = did_you_mean(role, known) or (
                    f"site {view.name} knows {', '.join(known)}; a role the site made "
                    f"goes in [site] roles of {view.path.name} with its id, e.g. {role} = 9"
                )
                yield files.farm_source.problem(
                    ("directories", name, "courses", *loc),
                    f"role {role!r} is not a role of site {view.name} ({view.path.name})",
                    hint,
                )


def _directories_of(view: SiteView) -> list[str]:
    """The directories the site's establishments read, each once."""
    default = view.section.directory if view.section is not None else None
    names = [entry.directory or default for _, entry in view.establishments]
    return sorted({name for name in names if name})
