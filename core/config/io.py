"""TOML load/save with errors that name the key and the reason."""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from platformdirs import user_config_dir
from pydantic import ValidationError

from core.config.models import AppConfig

APP_DIR_NAME = "RiskManager"
RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEFAULT_CONFIG_RESOURCE = RESOURCES / "default_config.toml"


class ConfigError(ValueError):
    """A bad config: ``key`` is the dotted TOML key, ``reason`` what is wrong with it."""

    def __init__(self, key: str, reason: str, path: Path | None = None) -> None:
        self.key = key
        self.reason = reason
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{key}: {reason}" if key else f"{where}{reason}")


def default_config_path() -> Path:
    return Path(user_config_dir(APP_DIR_NAME, appauthor=False)) / "config.toml"


def _first_error(exc: ValidationError, path: Path | None) -> ConfigError:
    err = exc.errors()[0]
    key = ".".join(str(part) for part in err["loc"])
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if err["type"] == "extra_forbidden":
        message = "unknown key (a typo here must not silently switch protection off)"
    elif err["type"] == "missing":
        message = "required key is missing"
    return ConfigError(key, message, path)


def parse_config(data: dict[str, Any], path: Path | None = None) -> AppConfig:
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, path) from None
    except RecursionError:
        raise ConfigError("", "a value is nested too deeply to read", path) from None


def load_config(path: Path | None = None) -> AppConfig:
    """Read a config file; a missing user config starts from the shipped default."""
    source = path or default_config_path()
    if not source.exists():
        if path is not None:
            raise ConfigError("", "file not found", source)
        source = DEFAULT_CONFIG_RESOURCE
    try:
        with source.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"not valid TOML ({exc})", source) from None
    except UnicodeDecodeError:
        raise ConfigError("", "not valid TOML (the file is not UTF-8 text)", source) from None
    except RecursionError:
        raise ConfigError("", "not valid TOML (nested too deeply to read)", source) from None
    except OSError as exc:
        raise ConfigError("", f"cannot be read ({exc.strerror})", source) from None
    return parse_config(data, source)


def dump_config(config: AppConfig) -> str:
    data = config.model_dump(mode="json", exclude_none=True)
    return tomli_w.dumps(data)


def write_text_atomic(path: Path, text: str) -> None:
    """Write-then-rename: a crash mid-write must never leave a half file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_config(config: AppConfig, path: Path) -> None:
    write_text_atomic(path, dump_config(config))
