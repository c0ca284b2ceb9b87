"""``farm worker``: the queue's tables installed once, and clear refusals."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from farm.cli.context import CliContext
from farm.cli.worker import worker


def test_install_schema_creates_the_queue_once(postgres_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    obj = CliContext(farm_dir=tmp_path)
    first = runner.invoke(worker, ["--install-schema", "--registry", postgres_url], obj=obj)
    assert first.exit_code == 0, first.output
    assert "Job queue tables created" in first.output
    again = runner.invoke(worker, ["--install-schema", "--registry", postgres_url], obj=obj)
    assert again.exit_code == 0, again.output
    assert "already present" in again.output


def test_a_sqlite_registry_is_refused_by_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    result = CliRunner().invoke(worker, ["--registry", url], obj=CliContext(farm_dir=tmp_path))
    assert result.exit_code == 1
    assert "the distributed executor needs the registry on PostgreSQL" in result.output
    assert "registry.db" in result.output
