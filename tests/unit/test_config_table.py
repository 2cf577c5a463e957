from __future__ import annotations

from pathlib import Path

from prwatch.config import Settings
from prwatch.config_table import settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_holds_the_generated_settings_table() -> None:
    assert settings_table() in README.read_text(), "run `prwatch config --markdown` into README"


def test_every_setting_is_described() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"PRWATCH_{name.upper()} has no description"
    assert "`PRWATCH_SWEEP_INTERVAL_SECONDS` | `300`" in settings_table()
