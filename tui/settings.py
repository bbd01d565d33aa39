"""Settings: the pydantic model of `settings.json`, where the file is found, environment
overrides (`EVODASH_SECTION__FIELD`), and one-line errors that name the file and the field.

Secrets (the Evolution API key, the Mongo URI which may carry a password) are `SecretStr`:
`repr`, `str`, errors and `model_dump` never show them in clear.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from tui.secrets import mask_uri

ENV_PREFIX = "EVODASH_"
ENV_SETTINGS_PATH = "EVODASH_SETTINGS"
DEFAULT_AUDIT_LOG = "~/.local/state/evodash/audit.jsonl"


class SettingsError(Exception):
    """A settings problem, as one line that names the file and the field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvolutionSettings(_Section):
    url: str = "http://127.0.0.1:8080"
    api_key: SecretStr
    timeout_s: float = Field(default=10, gt=0, le=600)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value.strip().rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _non_empty_key(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value


class MongoSettings(_Section):
    uri: SecretStr = SecretStr("mongodb://127.0.0.1:27017")
    database: str = Field(default="whatsapp_platform", min_length=1)
    connections_collection: str = Field(default="whatsapp_connections", min_length=1)
    resellers_collection: str = Field(default="resellers", min_length=1)

    @field_validator("uri")
    @classmethod
    def _mongo_uri(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if not raw.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("must start with mongodb:// or mongodb+srv://")
        return SecretStr(raw)

    @property
    def display_uri(self) -> str:
        """The URI with any password masked: safe to show."""
        return mask_uri(self.uri.get_secret_value())


class CleanupSettings(_Section):
    concurrency: int = Field(default=4, ge=1, le=64)
    verify_timeout_s: float = Field(default=15, gt=0, le=600)
    max_delete_attempts: int = Field(default=3, ge=1, le=20)
    # a name counts as free only once it stayed absent this long (contract §11.3)
    free_hold_s: float = Field(default=1.0, ge=0.2, le=60)
    # how long to retry the logout of an instance seen dialing before deleting anyway
    stop_dialing_s: float = Field(default=8.0, ge=0.5, le=120)


class Settings(_Section):
    evolution: EvolutionSettings
    mongo: MongoSettings = MongoSettings()
    cleanup: CleanupSettings = CleanupSettings()
    refresh_s: float = Field(default=5, ge=0.5, le=3600)
    read_only: bool = False
    audit_log: str = DEFAULT_AUDIT_LOG
    keymap: dict[str, str] = Field(default_factory=dict)  # dashboard binding id -> key(s)

    @property
    def audit_log_path(self) -> Path:
        return Path(self.audit_log).expanduser()


def candidate_paths(explicit: str | None, env: Mapping[str, str]) -> list[Path]:
    """Where settings are looked for, in order (the first existing one wins)."""
    if explicit:
        return [Path(explicit).expanduser()]
    if env.get(ENV_SETTINGS_PATH):
        return [Path(env[ENV_SETTINGS_PATH]).expanduser()]
    return [Path("settings.json"), Path("~/.config/evodash/settings.json").expanduser()]


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    """`EVODASH_EVOLUTION__API_KEY=x` -> {"evolution": {"api_key": "x"}}."""
    tree: dict[str, Any] = {}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_SETTINGS_PATH:
            continue
        path = [part.lower() for part in key[len(ENV_PREFIX):].split("__")]
        if not all(path):
            raise SettingsError(f"environment: {key}: malformed variable name")
        node = tree
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SettingsError(f"environment: {key}: conflicts with another variable")
            node = child
        node[path[-1]] = value
    return tree


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _field_error(where: str, error: ValidationError) -> SettingsError:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(top level)"
    kind = first["type"]
    if kind == "extra_forbidden":
        message = "unknown setting"
    elif kind == "missing":
        message = "is required"
    else:
        # pydantic's msg never echoes the input value; strip its "Value error, " prefix.
        message = first["msg"].removeprefix("Value error, ")
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return SettingsError(f"{where}: {field}: {message}{suffix}")


def permission_warning(path: Path) -> str | None:
    """A warning when the settings file is readable by group or others (it holds secrets)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return (
            f"warning: {path} is readable by group or others (mode {stat.S_IMODE(mode):o}) "
            f"and holds secrets; run: chmod 600 {path}"
        )
    return None


def load_settings(
    explicit: str | None = None, env: Mapping[str, str] | None = None
) -> tuple[Settings, list[str]]:
    """Find, read, merge with the environment and validate the settings.

    Returns the settings and a list of warnings; raises `SettingsError` (one line) on any problem.
    """
    env = os.environ if env is None else env
    warnings: list[str] = []
    candidates = candidate_paths(explicit, env)
    found = next((p for p in candidates if p.is_file()), None)
    overrides = _env_overrides(env)
    data: dict[str, Any] = {}
    where = "environment"
    if found is None:
        if explicit or env.get(ENV_SETTINGS_PATH):
            raise SettingsError(f"{candidates[0]}: settings file not found")
        if not overrides:
            looked = ", ".join(str(p) for p in candidates)
            raise SettingsError(
                f"no settings file found (looked in {looked}); copy settings.example.json "
                "or pass --settings PATH (or try: evodash --demo)"
            )
    else:
        where = str(found)
        try:
            text = found.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{found}: cannot read: {exc.__class__.__name__}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SettingsError(
                f"{found}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        if not isinstance(data, dict):
            raise SettingsError(f"{found}: (top level): must be a JSON object")
        warning = permission_warning(found)
        if warning:
            warnings.append(warning)
    if overrides:
        where = f"{where} (with EVODASH_* environment overrides)" if found else where
        data = _merge(data, overrides)
    try:
        return Settings.model_validate(data), warnings
    except ValidationError as exc:
        raise _field_error(where, exc) from None
