"""The revision ids the file names say are the history Alembic reads from the scripts.

Every command reads the schema state from the file names alone (without
importing Alembic); a revision named out of turn would make it lie.
"""

from __future__ import annotations

from alembic.script import ScriptDirectory

from farm.registry.schema import alembic_config, expected_revision, shipped_revisions


def test_the_file_names_give_alembics_history_in_order() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    history = [(s.revision, s.down_revision) for s in reversed(list(scripts.walk_revisions()))]
    shipped = shipped_revisions()
    assert [revision for revision, _ in history] == shipped
    assert [down for _, down in history] == [None, *shipped[:-1]]
    assert expected_revision() == scripts.get_current_head() == shipped[-1]
