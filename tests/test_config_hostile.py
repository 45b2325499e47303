"""Config files that would hand the token to the network or crash the loader (issue: bad bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, load_config

URL_KEYS = ("api_url", "user_hub_url", "market_hub_url")


def load_gateway(tmp_path: Path, key: str, url: str) -> ConfigError | None:
    path = tmp_path / "config.toml"
    path.write_text(f'[gateway]\n{key} = "{url}"\n', encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        return exc
    return None


@pytest.mark.parametrize("key", URL_KEYS)
@pytest.mark.parametrize(
    "url",
    ["http://api.topstepx.com", "http://10.0.0.5:8080/api", "http://rtc.topstepx.com/hubs/user",
     "http://127.0.0.1.evil.example/"],
)
def test_plain_http_to_another_machine_is_refused(tmp_path: Path, key: str, url: str) -> None:
    error = load_gateway(tmp_path, key, url)
    assert error is not None
    assert error.key == f"gateway.{key}"
    assert "http://" in error.reason and "unencrypted" in error.reason


@pytest.mark.parametrize("key", URL_KEYS)
@pytest.mark.parametrize(
    "url", ["ftp://api.topstepx.com", "wss://rtc.topstepx.com/hubs/user", "file:///etc/passwd",
            "javascript:alert(1)", "api.topstepx.com"],
)
def test_other_schemes_are_refused(tmp_path: Path, key: str, url: str) -> None:
    error = load_gateway(tmp_path, key, url)
    assert error is not None
    assert error.key == f"gateway.{key}"
    assert "https://" in error.reason


@pytest.mark.parametrize("key", URL_KEYS)
@pytest.mark.parametrize(
    "url",
    ["https://api.topstepx.com", "https://rtc.topstepx.com/hubs/user", "http://127.0.0.1:8123",
     "http://localhost:8123/hubs/user", "http://[::1]:8123", "HTTPS://API.TOPSTEPX.COM"],
)
def test_https_and_a_local_gateway_are_accepted(tmp_path: Path, key: str, url: str) -> None:
    assert load_gateway(tmp_path, key, url) is None


def test_a_url_without_a_host_or_with_a_bad_port_is_refused(tmp_path: Path) -> None:
    for url in ("https://", "https://:443/x", "https://api.topstepx.com:port/"):
        error = load_gateway(tmp_path, "api_url", url)
        assert error is not None and error.key == "gateway.api_url", url


@pytest.mark.parametrize(
    "body",
    [
        "accounts = " + "[" * 5_000 + "]" * 5_000,
        "x = " + "{a = " * 5_000 + "1" + "}" * 5_000,
        "[general]\naccounts = " + "[" * 100_000,
    ],
)
def test_a_file_nested_thousands_deep_is_a_config_error(tmp_path: Path, body: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "nested too deeply" in str(caught.value) or "not valid TOML" in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_deep_value_under_a_real_key_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[general]\naccounts = " + "[" * 100 + "]" * 100, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key.startswith("general.accounts")
