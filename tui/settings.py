"""Settings: the pydantic model of `settings.json`, where the file is found, environment
overrides (`EVODASH_SECTION__FIELD`), and one-line errors that name the file and the field.

Sources, highest priority first: the environment, then the settings file, then the defaults.
The environment is read by pydantic-settings (prefix `EVODASH_`, nested delimiter `__`, names
case-insensitive) from the mapping given to `load_settings` (`os.environ` by default); the
file's JSON object is passed as it is (keys exact), so an unknown key in the file is an error
("unknown setting").

Which `EVODASH_*` variables count:
- a variable naming a top-level setting or a section (`EVODASH_READ_ONLY`,
  `EVODASH_EVOLUTION__API_KEY`, `EVODASH_KEYMAP__DELETE`; a whole section may be given as a
  JSON object, `EVODASH_MONGO='{"database": "x"}'`) is a setting;
- a variable naming a known section but an unknown field (`EVODASH_EVOLUTION__APIKEY`) is
  almost certainly a typo: it is an error, one line naming the variable (with a suggestion);
- anything else (`EVODASH_DEBUG`, `EVODASH_CI`, `EVODASH_SETTINGS` — the path of the file —,
  a misspelt section) is not a setting and is ignored.
With no settings file, the environment alone is enough when it sets at least
`EVODASH_EVOLUTION__API_KEY`; with no file and no setting variable, "no settings file found".

Errors from a variable name the variable (`environment: EVODASH_CLEANUP__CONCURRENCY: ...`);
others name the file and the dotted field (`settings.json: evolution.url: ...`).

Secrets (the Evolution API key, the Mongo URI which may carry a password) are `SecretStr`:
`repr`, `str`, errors and `model_dump` never show them in clear.

`Settings.model_validate(dict)` and `Settings(...)` validate only what they are given: the
environment is read by `load_settings` alone.
"""

from __future__ import annotations

import difflib
import json
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as _SourceError

from tui.secrets import mask_uri

ENV_PREFIX = "EVODASH_"
ENV_SETTINGS_PATH = "EVODASH_SETTINGS"
ENV_NESTED_DELIMITER = "__"
DEFAULT_AUDIT_LOG = "~/.local/state/evodash/audit.jsonl"


class SettingsError(Exception):
    """A settings problem, as one line that names the file and the field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvolutionSettings(_Section):
    url: str = "http://127.0.0.1:8080"
    api_key: SecretStr
    timeout_s: float = Field(default=10, gt=0, le=600)
    # which Evolution API the server speaks: detected at the first call (`auto`), or set
    dialect: Literal["auto", "v1.8", "v2"] = "auto"

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
    # a name counts as free only once it stayed absent this long (v1.8 contract §11.3);
    # unset: the dialect's (v1.8 1.0 s, v2 0.5 s)
    free_hold_s: float | None = Field(default=None, ge=0.2, le=60)
    # how long to retry the logout of an instance seen dialing before deleting anyway
    stop_dialing_s: float = Field(default=8.0, ge=0.5, le=120)
    # a bulk operation never deletes an orphan instance younger than this (the platform may
    # still be inserting its record); 0 turns the rule off
    orphan_grace_s: float = Field(default=600, ge=0, le=7 * 86400)


# The sources of the `Settings` being built by `load_settings`, highest priority first; unset
# otherwise, so that `Settings(...)` / `Settings.model_validate(...)` read nothing else.
_LOAD_SOURCES: ContextVar[tuple[PydanticBaseSettingsSource, ...] | None] = ContextVar(
    "evodash_settings_sources", default=None
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        case_sensitive=False,
    )

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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Never os.environ, a .env file or a secrets dir behind the caller's back.
        return _LOAD_SOURCES.get() or (init_settings,)


def candidate_paths(explicit: str | None, env: Mapping[str, str]) -> list[Path]:
    """Where settings are looked for, in order (the first existing one wins)."""
    if explicit:
        return [Path(explicit).expanduser()]
    if env.get(ENV_SETTINGS_PATH):
        return [Path(env[ENV_SETTINGS_PATH]).expanduser()]
    return [Path("settings.json"), Path("~/.config/evodash/settings.json").expanduser()]


class _EnvironmentSource(EnvSettingsSource):
    """`EVODASH_*` variables read from a given mapping (tests pass dicts), not `os.environ`.

    Only variables naming a field of `Settings` count (pydantic-settings ignores the others);
    `EVODASH_SECTION__FIELD` becomes `{"section": {"field": value}}`, so an unknown FIELD of a
    known section reaches validation and fails there as "unknown setting".
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ  # read by _load_env_vars, which the base __init__ calls
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {(key if self.case_sensitive else key.lower()): value
                for key, value in self._environ.items()}

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        try:
            return super().prepare_field_value(field_name, field, value, value_is_complex)
        except ValueError:  # a section (or the keymap) given whole, but not as valid JSON
            variable = _variable_named(self._environ, (field_name,))
            raise SettingsError(
                f"environment: {variable or ENV_PREFIX + field_name.upper()}: "
                "must be a JSON object"
            ) from None


class _FileSource(PydanticBaseSettingsSource):
    """The settings file's JSON object, as it is: keys are exact, unknown ones are kept (and
    rejected by validation), nothing is decoded."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


@contextmanager
def _sources(*sources: PydanticBaseSettingsSource) -> Iterator[None]:
    token = _LOAD_SOURCES.set(sources)
    try:
        yield
    finally:
        _LOAD_SOURCES.reset(token)


def _environment_values(env: Mapping[str, str]) -> tuple[_EnvironmentSource, dict[str, Any]]:
    """The environment source and what it yields (`{}` when no variable names a setting)."""
    try:
        source = _EnvironmentSource(Settings, env)
        return source, source()
    except _SourceError as exc:  # its message names the field and the source, never a value
        raise SettingsError(f"environment: {exc}") from None


def _variable_parts(key: str) -> list[str] | None:
    """`EVODASH_EVOLUTION__API_KEY` -> ["evolution", "api_key"]; None if not `EVODASH_*`."""
    if not key.upper().startswith(ENV_PREFIX):
        return None
    return key[len(ENV_PREFIX):].lower().split(ENV_NESTED_DELIMITER)


def _variable_named(env: Mapping[str, str], loc: tuple[str, ...]) -> str | None:
    """The variable (as spelt in `env`) that set the value at `loc`: the one naming exactly
    `loc`, else one naming a part of it (a JSON section) or a path below it."""
    near = None
    for key in env:
        parts = _variable_parts(key)
        if parts is None or key == ENV_SETTINGS_PATH:
            continue
        if tuple(parts) == loc:
            return key
        shorter = min(len(parts), len(loc))
        if near is None and tuple(parts[:shorter]) == loc[:shorter]:
            near = key
    return near


def _from_environment(loc: tuple[str, ...], env_values: dict[str, Any]) -> bool:
    """Whether the value at `loc` came from the environment (which wins over the file)."""
    node: Any = env_values
    for part in loc:
        if not isinstance(node, dict):
            return True  # the environment set a whole value above loc
        if part not in node:
            return False
        node = node[part]
    return bool(loc)


def _nearest_field(loc: tuple[str, ...]) -> str | None:
    """The known field nearest to the misspelt last part of `loc` (None: none is near)."""
    model: Any = Settings
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        model = field.annotation if field is not None else None
    names = list(getattr(model, "model_fields", {}))
    if not loc or not names:
        return None
    typed = loc[-1].lower()
    # a field the typo is the start of, or that is its start (`refresh` -> `refresh_s`,
    # `timeout` -> `timeout_s`), before difflib's nearest spelling (`apikey` -> `api_key`)
    prefixed = [n for n in names if len(typed) >= 3 and (n.startswith(typed)
                                                         or typed.startswith(n))]
    if len(prefixed) == 1:
        return prefixed[0]
    squashed = {n.replace("_", ""): n for n in names}
    if typed.replace("_", "").replace("-", "") in squashed:
        return squashed[typed.replace("_", "").replace("-", "")]
    close = difflib.get_close_matches(typed, names, n=1, cutoff=0.6)
    return close[0] if close else None


def _suggestion(loc: tuple[str, ...], *, variable: bool = True) -> str:
    """` (did you mean EVODASH_EVOLUTION__API_KEY?)` for a misspelt field of a section in
    the environment, ` (did you mean evolution.api_key?)` in the file."""
    near = _nearest_field(loc)
    if near is None:
        return ""
    if variable:
        return f" (did you mean {ENV_PREFIX + ENV_NESTED_DELIMITER.join((*loc[:-1], near)).upper()}?)"
    return f" (did you mean {'.'.join((*loc[:-1], near))}?)"


def _field_error(
    where: str,
    error: ValidationError,
    env: Mapping[str, str] | None = None,
    env_values: dict[str, Any] | None = None,
) -> SettingsError:
    errors = error.errors()

    def variable_of(problem: Any) -> str | None:
        """The variable that set the value of this problem, if one did."""
        loc = tuple(str(part) for part in problem["loc"])
        if env is None or not env_values or not _from_environment(loc, env_values):
            return None
        return _variable_named(env, loc)

    # A problem a variable caused comes first: with the environment alone, a misspelt
    # EVODASH_EVOLUTION__APIKEY must be named, not hidden behind "evolution.api_key: is required".
    first, variable = next(
        ((problem, name) for problem in errors if (name := variable_of(problem))),
        (errors[0], None),
    )
    if variable is None:
        # then a typo in the file: `"apikey"` explains `evolution.api_key: is required`
        first = next((problem for problem in errors if problem["type"] == "extra_forbidden"
                      and _nearest_field(tuple(str(p) for p in problem["loc"]))), first)
    loc = tuple(str(part) for part in first["loc"])
    field = ".".join(loc) or "(top level)"
    kind = first["type"]
    hint = ""
    if kind == "extra_forbidden":
        message = "unknown setting"
    elif kind == "missing":
        message = "is required"
    else:
        # pydantic's msg never echoes the input value; strip its "Value error, " prefix.
        message = first["msg"].removeprefix("Value error, ")
    if variable is not None:  # name the variable, not the file
        exact = _variable_parts(variable) == list(loc)
        where, field = "environment", variable if exact else f"{variable} ({field})"
        if kind == "extra_forbidden":
            hint = _suggestion(loc)
    elif kind == "extra_forbidden":  # a typo in the file: `"apikey"`, `"refresh"`
        hint = _suggestion(loc, variable=False)
    more = len(errors) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return SettingsError(f"{where}: {field}: {message}{hint}{suffix}")


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
    loaded = load_settings_from(explicit, env)
    return loaded.settings, loaded.warnings


@dataclass(frozen=True)
class LoadedSettings:
    """Settings, the warnings of their loading, and where they came from."""

    settings: Settings
    warnings: list[str]
    file: Path | None  # the settings file read (None: the environment alone)
    looked_in: tuple[Path, ...]  # where a file was looked for
    variables: tuple[str, ...]  # the EVODASH_* variables that set a value (names only)

    @property
    def source(self) -> str:
        """Where the settings came from, in words (names of variables, never values)."""
        names = ", ".join(self.variables)
        if self.file is None:
            looked = ", ".join(str(p) for p in self.looked_in)
            return f"environment only ({names}; no settings file in {looked})"
        where = self.file.absolute()
        return f"{where} with environment overrides ({names})" if self.variables else str(where)


def _setting_variables(env: Mapping[str, str], env_values: dict[str, Any]) -> tuple[str, ...]:
    """The `EVODASH_*` variables that name a setting (those that reached `env_values`)."""
    out = []
    for key in env:
        parts = _variable_parts(key)
        if parts is None or key == ENV_SETTINGS_PATH or parts[0] not in env_values:
            continue
        node: Any = env_values
        for part in parts:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            out.append(key)
    return tuple(sorted(out))


def _not_a_file(path: Path) -> str | None:
    """Why an existing `path` cannot be a settings file (None: it is one, or is missing)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISDIR(mode):
        return f"{path}: is a directory, not a settings file (give the file's path)"
    if not stat.S_ISREG(mode):
        return f"{path}: not a regular file"
    return None


def load_settings_from(
    explicit: str | None = None, env: Mapping[str, str] | None = None
) -> LoadedSettings:
    """`load_settings`, also saying where the settings came from (`LoadedSettings.source`)."""
    env = os.environ if env is None else env
    warnings: list[str] = []
    candidates = candidate_paths(explicit, env)
    found = next((p for p in candidates if p.is_file()), None)
    environment, env_values = _environment_values(env)
    data: dict[str, Any] = {}
    where = "environment"
    if found is None:
        if explicit or env.get(ENV_SETTINGS_PATH):
            raise SettingsError(_not_a_file(candidates[0])
                                or f"{candidates[0]}: settings file not found")
        if not env_values:  # no file, and no variable names a setting (EVODASH_DEBUG...)
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
        if env_values:
            where = f"{where} (with EVODASH_* environment overrides)"
    try:
        with _sources(environment, _FileSource(Settings, data)):  # environment > file > defaults
            settings = Settings()  # type: ignore[call-arg]  # the sources give the values
    except ValidationError as exc:
        raise _field_error(where, exc, env, env_values) from None
    return LoadedSettings(settings, warnings, found, tuple(candidates),
                          _setting_variables(env, env_values))
