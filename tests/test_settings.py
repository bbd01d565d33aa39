"""Settings: discovery order, env overrides, secrets masking and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "settings.example.json").read_text())


def write(tmp_path: Path, data, name: str = "settings.json", mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    path.chmod(mode)
    return path


def test_example_file_is_valid_and_defaults_apply(tmp_path):
    settings, warnings = load_settings(str(write(tmp_path, EXAMPLE)), env={})
    assert settings.evolution.url == "http://127.0.0.1:8080"
    assert settings.cleanup.concurrency == 4
    assert settings.mongo.database == "whatsapp_platform"
    assert warnings == []
    minimal, _ = load_settings(
        str(write(tmp_path, {"evolution": {"api_key": "k"}}, "m.json")), env={}
    )
    assert minimal.refresh_s == 5 and minimal.read_only is False
    assert minimal.cleanup.max_delete_attempts == 3


def test_discovery_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home_cfg = tmp_path / "home/.config/evodash"
    home_cfg.mkdir(parents=True)
    write(home_cfg, {"evolution": {"api_key": "home"}})
    assert load_settings(None, env={})[0].evolution.api_key.get_secret_value() == "home"
    write(tmp_path, {"evolution": {"api_key": "cwd"}})
    assert load_settings(None, env={})[0].evolution.api_key.get_secret_value() == "cwd"
    env_file = write(tmp_path, {"evolution": {"api_key": "envpath"}}, "e.json")
    env = {"EVODASH_SETTINGS": str(env_file)}
    assert load_settings(None, env=env)[0].evolution.api_key.get_secret_value() == "envpath"
    flag = write(tmp_path, {"evolution": {"api_key": "flag"}}, "f.json")
    assert load_settings(str(flag), env=env)[0].evolution.api_key.get_secret_value() == "flag"


def test_environment_overrides_every_field(tmp_path):
    path = write(tmp_path, EXAMPLE)
    env = {
        "EVODASH_EVOLUTION__API_KEY": "from-env-key",
        "EVODASH_EVOLUTION__TIMEOUT_S": "3.5",
        "EVODASH_MONGO__URI": "mongodb://u:pw@db:27017",
        "EVODASH_CLEANUP__CONCURRENCY": "16",
        "EVODASH_READ_ONLY": "true",
        "EVODASH_REFRESH_S": "2",
    }
    settings, _ = load_settings(str(path), env=env)
    assert settings.evolution.api_key.get_secret_value() == "from-env-key"
    assert settings.evolution.timeout_s == 3.5
    assert settings.cleanup.concurrency == 16
    assert settings.read_only is True and settings.refresh_s == 2
    assert settings.mongo.display_uri == "mongodb://u:****@db:27017"


def test_env_only_configuration_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    settings, _ = load_settings(None, env={"EVODASH_EVOLUTION__API_KEY": "k"})
    assert settings.evolution.api_key.get_secret_value() == "k"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "invalid JSON at line 1 column 2"),
        ("[1, 2]", "(top level): must be a JSON object"),
        ({"evolution": {"api_key": "k"}, "colour": "red"}, "colour: unknown setting"),
        ({"evolution": {"api_key": "k", "tiemout_s": 3}}, "evolution.tiemout_s: unknown setting"),
        ({"evolution": {"api_key": "k", "timeout_s": "soon"}}, "evolution.timeout_s: Input should be a valid number"),
        ({"evolution": {"api_key": "k"}, "cleanup": {"concurrency": 0}}, "cleanup.concurrency: Input should be greater than or equal to 1"),
        ({"evolution": {"api_key": "k", "url": "ftp://x"}}, "evolution.url: must be an http:// or https:// URL with a host"),
        ({"evolution": {"api_key": "k"}, "mongo": {"uri": "postgres://x"}}, "mongo.uri: must start with mongodb://"),
        ({"evolution": {}}, "evolution.api_key: is required"),
        ({"evolution": {"api_key": "k"}, "read_only": "maybe"}, "read_only: Input should be a valid boolean"),
    ],
)
def test_bad_settings_give_one_line_naming_file_and_field(tmp_path, content, expected):
    path = write(tmp_path, content)
    with pytest.raises(SettingsError) as info:
        load_settings(str(path), env={})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_missing_explicit_file(tmp_path):
    with pytest.raises(SettingsError, match=r"nope\.json: settings file not found"):
        load_settings(str(tmp_path / "nope.json"), env={})


def test_no_file_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(SettingsError, match="no settings file found"):
        load_settings(None, env={})


def test_secrets_never_in_repr_or_errors(tmp_path):
    data = {"evolution": {"api_key": "super-secret-key-123"},
            "mongo": {"uri": "mongodb://admin:hunter2pw@db:27017"}}
    settings, _ = load_settings(str(write(tmp_path, data)), env={})
    for text in (repr(settings), str(settings), str(settings.model_dump()),
                 settings.model_dump_json()):
        assert "super-secret-key-123" not in text
        assert "hunter2pw" not in text
    bad = {"evolution": {"api_key": "super-secret-key-123", "timeout_s": -1},
           "mongo": {"uri": "mongodb://admin:hunter2pw@db:27017"}}
    with pytest.raises(SettingsError) as info:
        load_settings(str(write(tmp_path, bad, "b.json")), env={})
    assert "super-secret-key-123" not in str(info.value)
    assert "hunter2pw" not in str(info.value)


def test_world_readable_file_warns_but_loads(tmp_path):
    path = write(tmp_path, EXAMPLE, mode=0o644)
    settings, warnings = load_settings(str(path), env={})
    assert isinstance(settings, Settings)
    assert len(warnings) == 1 and "chmod 600" in warnings[0] and "644" in warnings[0]


@pytest.mark.parametrize(
    ("content", "expected"),
    [("{oops", "invalid JSON"), ({"evolution": {"api_key": "k", "url": "nope"}}, "evolution.url")],
)
def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path, content, expected):
    path = write(tmp_path, content)
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "--settings", str(path), "report"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0] and str(path) in lines[0]
    assert "Traceback" not in proc.stderr


def test_keymap_setting_is_validated_against_binding_ids(tmp_path):
    from tui.cli.dashboard import check_keymap

    data = {"evolution": {"api_key": "k"}, "keymap": {"delete": "ctrl+x", "refresh": "f5"}}
    settings, _ = load_settings(str(write(tmp_path, data)), env={})
    check_keymap(settings.keymap)  # known ids pass
    with pytest.raises(SettingsError, match="keymap: unknown binding id"):
        check_keymap({"delet": "ctrl+x"})
    with pytest.raises(SettingsError, match="no key given for refresh"):
        check_keymap({"refresh": " "})
    with pytest.raises(SettingsError, match="keymap.delete: Input should be a valid string"):
        load_settings(str(write(tmp_path, {"evolution": {"api_key": "k"},
                                           "keymap": {"delete": 5}}, "k.json")), env={})
