"""Configuration: the generated template, validation errors, environment overrides."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from kgsentinel.config import Config, StoreConfig, config_template, load_config
from kgsentinel.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kgsentinel.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_template_is_valid_and_explains_every_setting() -> None:
    text = config_template("npi")
    config = Config.model_validate(tomllib.loads(text))
    assert config.project.name == "npi"
    assert config == Config(project={"name": "npi"})
    for key, setting in StoreConfig.model_fields.items():
        assert f"# {setting.description}" in text
        assert f"{key} =" in text


def test_every_commented_setting_is_valid_when_uncommented() -> None:
    setting = re.compile(r"# (\w+ = |\[)")
    lines = [
        line.removeprefix("# ") if setting.match(line) else line
        for line in config_template().splitlines()
    ]
    Config.model_validate(tomllib.loads("\n".join(lines)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[store]\nbackend = "oxigrph"\n',
            "[store] backend = 'oxigrph': not allowed; use one of 'embedded' or 'sparql'",
        ),
        (
            '[store]\nbakend = "embedded"\n',
            "[store] bakend: unknown setting; allowed here: backend, path, query_url",
        ),
        ("[stores]\n", "[stores]: unknown setting; allowed here: project, store"),
        ("[store]\ntimeout = -1\n", "[store] timeout = -1: input should be greater than 0"),
        (
            '[store]\nquery_url = "ftp://x"\n',
            "[store] query_url = 'ftp://x': must be an http:// or https:// URL",
        ),
        ('[store]\nbackend = "sparql"\n', "[store]: backend = 'sparql' needs query_url"),
        ('[store]\ntoken = "s3cret"\n', "store.token: secrets do not belong in kgsentinel.toml"),
        ("[store\n", "(fix the TOML syntax)"),
    ],
)
def test_a_bad_setting_gets_one_line_naming_file_key_value_and_fix(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message
    assert "s3cret" not in message


def test_environment_overrides_the_store(tmp_path: Path) -> None:
    path = write(tmp_path, '[store]\nbackend = "sparql"\n')
    env = {"KGSENTINEL_STORE_URL": "http://127.0.0.1:7878/query"}
    assert load_config(path, env).store.query_url == "http://127.0.0.1:7878/query"
    moved = load_config(path, {"KGSENTINEL_STORE_PATH": "/srv/kg"}).store
    assert (moved.backend, moved.path) == ("embedded", "/srv/kg")


def test_a_bad_environment_value_is_blamed_on_the_override(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    with pytest.raises(ConfigError, match=r"KGSENTINEL_STORE_\* overrides.*query_url = 'nope'"):
        load_config(path, {"KGSENTINEL_STORE_URL": "nope"})
