"""The README and the settings agree with the code: commands, environment variables, defaults."""

import dataclasses
import re
from pathlib import Path

import pytest

from observatory.cli import main
from observatory.settings import DOCUMENTED_SETTINGS, PROJECT_DIR, Settings, stored_secret

README = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
MAKEFILE = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_is_documented_in_the_readme(name):
    assert f"observatory {name}" in README


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_documented_option_of_a_command_exists(name):
    row = next((line for line in README.splitlines() if line.startswith(f"| `observatory {name}")), None)
    assert row is not None, f"no row for observatory {name} in the command table"
    command = main.commands[name]
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for option in re.findall(r"--[a-z-]+", row.split("|")[1]):
        assert option in known, option


@pytest.mark.parametrize("variable", sorted(DOCUMENTED_SETTINGS))
def test_every_setting_is_documented_in_the_readme(variable):
    assert f"`{variable}`" in README


def test_every_setting_field_has_a_documented_variable():
    assert len(DOCUMENTED_SETTINGS) == len(dataclasses.fields(Settings))
    for field in dataclasses.fields(Settings):
        assert f"OBSERVATORY_{field.name.upper()}" in DOCUMENTED_SETTINGS, field.name


def test_readme_settings_table_lists_only_real_settings():
    documented = set(re.findall(r"^\| `(OBSERVATORY_[A-Z_]+)`", README, flags=re.MULTILINE))
    assert documented == set(DOCUMENTED_SETTINGS)


def test_settings_are_read_from_every_variable():
    settings = Settings.from_env(
        {
            "OBSERVATORY_DATABASE_URL": "postgresql://osservatorio:segreto@db.example:5432/osservatorio",
            "OBSERVATORY_INDEX_DIR": "/srv/osservatorio/indice",
            "OBSERVATORY_SECRET_KEY": "una-chiave-segreta",
            "OBSERVATORY_DEBUG": "1",
            "OBSERVATORY_PAGE_SIZE": "35",
            "OBSERVATORY_BASE_URL": "https://osservatorio.example/",
            "OBSERVATORY_INDEX_POLL": "0.5",
            "OBSERVATORY_TRUSTED_PROXIES": "10.0.0.5, 10.0.1.0/24,fd00::/8",
        }
    )
    assert settings.database_url == "postgresql://osservatorio:segreto@db.example:5432/osservatorio"
    assert settings.index_dir == Path("/srv/osservatorio/indice")
    assert settings.secret_key == "una-chiave-segreta"
    assert settings.debug is True
    assert settings.page_size == 35
    assert settings.base_url == "https://osservatorio.example"
    assert settings.index_poll == 0.5
    assert settings.trusted_proxies == ("10.0.0.5", "10.0.1.0/24", "fd00::/8")


def test_settings_defaults_match_the_readme():
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{PROJECT_DIR / 'var' / 'osservatorio.db'}"
    assert settings.index_dir == PROJECT_DIR / "var" / "index"
    assert settings.debug is False
    assert settings.page_size == 20
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.index_poll == 2
    assert settings.trusted_proxies == ("127.0.0.1", "::1")
    assert len(settings.secret_key) >= 32
    assert Settings.from_env({}).secret_key == settings.secret_key  # one key for every worker
    for variable, default in (
        ("OBSERVATORY_PAGE_SIZE", "`20`"),
        ("OBSERVATORY_DEBUG", "`0`"),
        ("OBSERVATORY_BASE_URL", "`http://127.0.0.1:8000`"),
        ("OBSERVATORY_INDEX_DIR", "`var/index`"),
        ("OBSERVATORY_INDEX_POLL", "`2`"),
    ):
        row = next(line for line in README.splitlines() if line.startswith(f"| `{variable}`"))
        assert row.rstrip(" |").endswith(default), variable


def test_secret_key_is_created_once_readable_by_the_owner_only(tmp_path):
    path = tmp_path / "var" / "secret_key"
    first = stored_secret(path)
    assert len(first) >= 32
    assert stored_secret(path) == first
    assert path.stat().st_mode & 0o777 == 0o600
    assert Settings.from_env({"OBSERVATORY_SECRET_KEY": "configured"}).secret_key == "configured"


@pytest.mark.parametrize("value, expected", [("0", False), ("1", True), ("true", True), ("no", False)])
def test_debug_setting_reads_yes_and_no(value, expected):
    assert Settings.from_env({"OBSERVATORY_DEBUG": value}).debug is expected


@pytest.mark.parametrize("value", ["1", "100"])
def test_page_size_accepts_the_documented_bounds(value):
    assert Settings.from_env({"OBSERVATORY_PAGE_SIZE": value}).page_size == int(value)


@pytest.mark.parametrize("value", ["0", "101", "-5", "abc", "2.5"])
def test_page_size_out_of_range_or_not_a_number_is_refused_clearly(value):
    with pytest.raises(ValueError, match="OBSERVATORY_PAGE_SIZE"):
        Settings.from_env({"OBSERVATORY_PAGE_SIZE": value})


def test_page_size_error_says_what_is_allowed():
    with pytest.raises(ValueError, match="1 and 100"):
        Settings.from_env({"OBSERVATORY_PAGE_SIZE": "0"})
    with pytest.raises(ValueError, match="whole number") as raised:
        Settings.from_env({"OBSERVATORY_PAGE_SIZE": "abc"})
    assert "'abc'" in str(raised.value)


@pytest.mark.parametrize("value", ["0", "0.05", "3601", "nan", "due"])
def test_index_poll_out_of_range_or_not_a_number_is_refused_clearly(value):
    with pytest.raises(ValueError, match="OBSERVATORY_INDEX_POLL must be"):
        Settings.from_env({"OBSERVATORY_INDEX_POLL": value})


def test_trusted_proxies_may_be_none_and_refuse_what_is_not_an_address():
    assert Settings.from_env({"OBSERVATORY_TRUSTED_PROXIES": "none"}).trusted_proxies == ()
    with pytest.raises(ValueError, match="OBSERVATORY_TRUSTED_PROXIES: 'proxy.example' is not an IP"):
        Settings.from_env({"OBSERVATORY_TRUSTED_PROXIES": "10.0.0.1,proxy.example"})


def test_make_targets_listed_in_the_readme_exist():
    line = next(line for line in README.splitlines() if line.startswith("`make help` lists every target"))
    targets = re.findall(r"`([a-z]+)`", line.split(":", 1)[1])
    assert targets
    for target in targets:
        assert re.search(rf"^{target}:.*## ", MAKEFILE, flags=re.MULTILINE), target
