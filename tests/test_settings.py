"""Settings: discovery order, env overrides, secrets masking and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
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
        ({"evolution": {"api_key": "k", "dialect": "v3"}},
         "evolution.dialect: Input should be 'auto', 'v1.8' or 'v2'"),
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


# ---------------------------------------------------------------------------- environment
# pydantic-settings reads the environment: only EVODASH_* variables naming a setting count.
MINIMAL = {"evolution": {"api_key": "file-key"}}


def test_non_setting_variables_are_ignored(tmp_path):
    path = write(tmp_path, MINIMAL)
    env = {"EVODASH_DEBUG": "1", "EVODASH_CI": "true", "EVODASH_SETTINGS": str(path),
           "EVODASH_EVOLUTON__API_KEY": "misspelt-section"}  # not a section: not a setting
    settings, warnings = load_settings(str(path), env=env)
    assert settings == load_settings(str(path), env={})[0] and warnings == []
    assert settings.evolution.api_key.get_secret_value() == "file-key"
    assert load_settings(None, env=env)[0] == settings  # via EVODASH_SETTINGS, still ignored


def test_non_setting_variables_alone_are_not_a_configuration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(SettingsError, match="no settings file found"):
        load_settings(None, env={"EVODASH_DEBUG": "1", "EVODASH_CI": "true"})


@pytest.mark.parametrize("with_file", [True, False], ids=["file", "env-only"])
def test_typo_in_a_field_of_a_known_section_is_one_line_naming_it(tmp_path, monkeypatch,
                                                                  with_file):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    path = str(write(tmp_path, MINIMAL)) if with_file else None
    with pytest.raises(SettingsError) as info:
        load_settings(path, env={"EVODASH_EVOLUTION__APIKEY": "typo-secret-123"})
    message = str(info.value)
    assert "\n" not in message and "typo-secret-123" not in message
    # named even without a file, where "evolution.api_key: is required" is also true
    assert message.startswith("environment: EVODASH_EVOLUTION__APIKEY: unknown setting"), message
    assert "did you mean EVODASH_EVOLUTION__API_KEY?" in message


def test_variable_names_are_case_insensitive_and_errors_name_the_variable(tmp_path):
    path = write(tmp_path, MINIMAL)
    settings, _ = load_settings(str(path), env={"evodash_cleanup__concurrency": "7",
                                                "Evodash_Read_Only": "yes"})
    assert settings.cleanup.concurrency == 7 and settings.read_only is True
    with pytest.raises(SettingsError) as info:
        load_settings(str(path), env={"EVODASH_CLEANUP__CONCURRENCY": "0", "EVODASH_DEBUG": "1"})
    assert str(info.value) == ("environment: EVODASH_CLEANUP__CONCURRENCY: "
                               "Input should be greater than or equal to 1")
    with pytest.raises(SettingsError, match=r"^environment: EVODASH_MONGO: must be a JSON object$"):
        load_settings(str(path), env={"EVODASH_MONGO": "{not json"})


def test_unknown_key_in_the_file_stays_an_error_whatever_the_environment(tmp_path):
    path = write(tmp_path, {**MINIMAL, "Read_Only": True})  # file keys are exact
    with pytest.raises(SettingsError, match="Read_Only: unknown setting"):
        load_settings(str(path), env={"EVODASH_DEBUG": "1", "EVODASH_REFRESH_S": "2"})


def test_environment_beats_file_beats_defaults(tmp_path):
    path = write(tmp_path, {"evolution": {"api_key": "file-key", "timeout_s": 3},
                            "mongo": {"database": "file-db"}, "refresh_s": 9,
                            "keymap": {"delete": "ctrl+x"}})
    env = {"EVODASH_EVOLUTION__API_KEY": "env-key", "EVODASH_REFRESH_S": "2",
           "EVODASH_MONGO__CONNECTIONS_COLLECTION": "env-conns",
           "EVODASH_KEYMAP__REFRESH": "f5"}
    settings, _ = load_settings(str(path), env=env)
    assert settings.evolution.api_key.get_secret_value() == "env-key"  # env over file
    assert settings.refresh_s == 2
    assert settings.evolution.timeout_s == 3  # file, where the env says nothing...
    assert settings.mongo.database == "file-db"  # ...even within a section the env touches
    assert settings.mongo.connections_collection == "env-conns"
    assert settings.keymap == {"delete": "ctrl+x", "refresh": "f5"}
    assert settings.evolution.url == "http://127.0.0.1:8080"  # defaults last
    assert settings.cleanup.concurrency == 4


def test_only_the_given_mapping_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("EVODASH_READ_ONLY", "true")
    monkeypatch.setenv("EVODASH_EVOLUTION__APIKEY", "typo")
    settings, _ = load_settings(str(write(tmp_path, MINIMAL)), env={})
    assert settings.read_only is False
    built = Settings.model_validate(MINIMAL)  # other code builds Settings from dicts
    assert built.read_only is False and built == settings
    assert Settings(**MINIMAL).read_only is False


def test_cli_ignores_a_debug_switch_in_the_environment(tmp_path):
    """`EVODASH_DEBUG=1 evodash doctor` once failed with `debug: unknown setting`."""
    path = write(tmp_path, {"evolution": {"url": "http://127.0.0.1:9", "api_key": "k",
                                          "timeout_s": 1}})
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODASH_")}
    env.update(EVODASH_DEBUG="1", EVODASH_CI="true", NO_COLOR="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "--settings", str(path), "doctor", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    # The settings check is doctor's first line; stop there rather than wait for the
    # (unreachable) Evolution and MongoDB checks to time out.
    timer = threading.Timer(60, proc.kill)
    timer.start()
    try:
        first = proc.stdout.readline()
    finally:
        timer.cancel()
        proc.kill()
        rest, err = proc.communicate(timeout=30)
    assert "unknown setting" not in first + rest + err
    assert json.loads(first) == {"type": "check", "check": "settings", "ok": True,
                                 "detail": f"{path}: valid"}


# ---------------------------------------------------------------------------- issue 16, point 11
@pytest.mark.parametrize(("content", "expected"), [
    ({"evolution": {"apikey": "k"}},
     "evolution.apikey: unknown setting (did you mean evolution.api_key?) (and 1 more problem)"),
    ({"evolution": {"api_key": "k"}, "refresh": 3},
     "refresh: unknown setting (did you mean refresh_s?)"),
    ({"evolution": {"api_key": "k", "timeout": 3}},
     "evolution.timeout: unknown setting (did you mean evolution.timeout_s?)"),
    ({"evolution": {"api_key": "k"}, "cleanup": {"orphan-grace-s": 0}},
     "cleanup.orphan-grace-s: unknown setting (did you mean cleanup.orphan_grace_s?)"),
    ({"evolution": {"api_key": "k"}, "readonly": True},
     "readonly: unknown setting (did you mean read_only?)"),
    ({"evolution": {"api_key": "k"}, "colour": "red"}, "colour: unknown setting"),  # none near
])
def test_a_typo_in_the_file_is_named_with_the_nearest_field(tmp_path, content, expected):
    path = write(tmp_path, content)
    with pytest.raises(SettingsError) as info:
        load_settings(str(path), env={})
    assert str(info.value) == f"{path}: {expected}"


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_directory_is_named_as_one(tmp_path, how):
    folder = tmp_path / "conf"
    folder.mkdir()
    explicit, env = (str(folder), {}) if how == "flag" else (None, {"EVODASH_SETTINGS": str(folder)})
    with pytest.raises(SettingsError) as info:
        load_settings(explicit, env=env)
    assert str(info.value) == f"{folder}: is a directory, not a settings file (give the file's path)"
    result = subprocess.run([sys.executable, "-m", "tui", "--settings", str(folder), "report"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env={k: v for k, v in os.environ.items()
                                 if not k.startswith("EVODASH_")})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"evodash: {folder}: is a directory, not a settings file " \
                            "(give the file's path)\n"


def test_where_the_settings_came_from(tmp_path, monkeypatch):
    from tui.settings import load_settings_from

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    env = {"EVODASH_EVOLUTION__API_KEY": "secret-key-value", "EVODASH_DEBUG": "1",
           "EVODASH_MONGO__URI": "mongodb://u:pw@h:1"}
    alone = load_settings_from(None, env=env)
    assert alone.file is None
    assert alone.source == ("environment only (EVODASH_EVOLUTION__API_KEY, EVODASH_MONGO__URI; "
                            f"no settings file in settings.json, {tmp_path}/home/.config/"
                            "evodash/settings.json)")
    path = write(tmp_path, {"evolution": {"api_key": "k"}})
    both = load_settings_from(None, env=env)
    assert both.file == Path("settings.json") and both.source == (
        f"{path} with environment overrides (EVODASH_EVOLUTION__API_KEY, EVODASH_MONGO__URI)")
    assert load_settings_from(None, env={}).source == str(path)
    for loaded in (alone, both):
        assert "secret-key-value" not in loaded.source and "pw" not in loaded.source


def test_doctor_says_the_settings_came_from_the_environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODASH_")}
    env.update(HOME=str(tmp_path), EVODASH_EVOLUTION__API_KEY="k-123456789",
               EVODASH_EVOLUTION__URL="http://127.0.0.1:9", EVODASH_EVOLUTION__TIMEOUT_S="1")
    proc = subprocess.Popen([sys.executable, "-m", "tui", "doctor", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=tmp_path)
    timer = threading.Timer(60, proc.kill)
    timer.start()
    try:
        first = proc.stdout.readline()
    finally:
        timer.cancel()
        proc.kill()
        proc.communicate(timeout=30)
    assert json.loads(first) == {
        "type": "check", "check": "settings", "ok": True,
        "detail": "environment only (EVODASH_EVOLUTION__API_KEY, EVODASH_EVOLUTION__TIMEOUT_S, "
                  "EVODASH_EVOLUTION__URL; no settings file in settings.json, "
                  f"{tmp_path}/.config/evodash/settings.json): valid"}
    assert "k-123456789" not in first
