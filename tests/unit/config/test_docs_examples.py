"""The examples of docs/configuration.md form a valid farm, so the reference stays true."""

from __future__ import annotations

import re
from pathlib import Path

from farm.config import load_farm

ROOT = Path(__file__).parents[3]
DOC = ROOT / "docs" / "configuration.md"
README = ROOT / "README.md"


def toml_blocks(path: Path) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)


def test_documented_examples_load(tmp_path: Path) -> None:
    blocks = toml_blocks(DOC)
    names = ["farm", "cite-clemenceau-montpellier", "cfa-occitanie"]
    assert len(blocks) == len(names)
    for name, block in zip(names, blocks, strict=True):
        (tmp_path / f"{name}.toml").write_text(block, encoding="utf-8")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "cfa-occitanie.token").write_text("token\n", encoding="utf-8")

    farm = load_farm(tmp_path, resolve_secrets=False)

    assert farm.sites["cite-clemenceau-montpellier"].is_cite_scolaire
    assert farm.schedules_of("0342225J")["delta"] == "disabled"
    assert farm.tenants["cfa-occ-toulouse"].usertype_prefix == "1"


def test_the_readme_shows_the_same_examples() -> None:
    assert toml_blocks(README) == toml_blocks(DOC)
