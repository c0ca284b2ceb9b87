"""``farm dashboard`` started with a registry URL and no usable farm folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from farm.cli import main
from farm.registry import Registry
from farm.tui.app import FarmDashboard
from farm.tui.feed import RegistryFeed


def test_the_title_shows_the_registry_url_without_its_password(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test server trusts local connections: any password gets in, and must not show.
    url = make_url(postgres_url).set(password="pa55-w0rd-xyz").render_as_string(False)
    with Registry.open(url, check=False, create=True) as registry:
        registry.upgrade()
    shown: list[tuple[str, bool]] = []

    def run(app: FarmDashboard) -> None:
        # The screen itself needs a terminal; what it would show is what matters here.
        shown.append((app.sub_title, app.commander is None))

    monkeypatch.setattr(FarmDashboard, "run_with_signals", run)
    result = CliRunner().invoke(
        main, ["--farm-dir", str(tmp_path / "no-farm"), "dashboard", "--registry", url]
    )
    assert result.exit_code == 0, result.output
    ((title, watch_only),) = shown
    assert "pa55-w0rd-xyz" not in title
    assert title == make_url(url).render_as_string(hide_password=True) + " — watch only"
    assert watch_only  # without the farm's configuration it can only follow runs


async def test_a_registry_that_fails_at_load_ends_the_dashboard_with_a_reason(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    with Registry.open(url, check=False, create=True) as created:
        created.upgrade()
    registry = Registry.open(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE tenant_change"))
        connection.execute(text("DROP TABLE tenant"))
    engine.dispose()
    app = FarmDashboard(RegistryFeed(registry))
    try:
        async with app.run_test(size=(100, 30)):
            pass
    finally:
        registry.close()
    assert app.return_code == 1
