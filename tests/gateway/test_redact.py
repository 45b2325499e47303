"""Tokens and the API key never reach a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from core.gateway.redact import (
    REDACTED,
    RedactingFilter,
    install_redaction,
    redact_text,
    uninstall_redaction,
)
from tests.gateway.support import make_jwt

API_KEY = "pk_live_Zx9QwErTy1234567890abcdef"
TOKEN = make_jwt(1_900_000_000)
OTHER_JWT = make_jwt(None, sub="someone-else")  # a token we do not hold: caught by its shape
SECRETS = (API_KEY, TOKEN, OTHER_JWT)

log = logging.getLogger("tests.gateway.redact")


@pytest.fixture
def redacted(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog
    uninstall_redaction()


def _install() -> None:
    # Inside the test body, so the handlers of the test's own call phase are the ones guarded.
    install_redaction(lambda: [API_KEY, TOKEN, None])


def test_without_redaction_the_token_would_be_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    log.debug("url ?access_token=%s", TOKEN)
    assert TOKEN in caplog.text  # the tests below are not vacuous


def _assert_clean(caplog: pytest.LogCaptureFixture) -> None:
    for secret in SECRETS:
        assert secret not in caplog.text
        for record in caplog.records:
            assert secret not in record.getMessage()
    # The JWT's pieces must not survive either (the signature and payload alone are usable).
    for part in TOKEN.split(".")[:2]:
        assert part not in caplog.text
    assert REDACTED in caplog.text


def test_hub_url_with_access_token(redacted: pytest.LogCaptureFixture) -> None:
    _install()
    log.debug("connecting to %s", f"wss://rtc.topstepx.com/hubs/user?access_token={TOKEN}&x=1")
    log.info("negotiate https://rtc/hubs/market?access_token=%s", OTHER_JWT)
    _assert_clean(redacted)
    assert "&x=1" in redacted.text


def test_header_dict_and_login_body(redacted: pytest.LogCaptureFixture) -> None:
    _install()
    log.debug("headers %s", {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
    log.debug("body %r", {"userName": "trader@example.com", "apiKey": API_KEY})
    log.debug("answer %s", json.dumps({"token": OTHER_JWT, "success": True}))
    _assert_clean(redacted)
    assert "trader@example.com" in redacted.text and "application/json" in redacted.text


def test_exception_text_and_args(redacted: pytest.LogCaptureFixture) -> None:
    _install()
    try:
        raise RuntimeError(f"login failed for key {API_KEY} with token {TOKEN}")
    except RuntimeError:
        log.exception("gateway call failed")
    log.warning("api key is %s", API_KEY)
    _assert_clean(redacted)
    assert "RuntimeError" in redacted.text


def test_opaque_bearer_token_and_key_value_forms() -> None:
    text = redact_text(
        "Authorization: Bearer abc123opaque, newToken=zzz999, api_key: 'k-1', password=hunter2,"
        ' {"token": "opq-77", "success": true}'
    )
    for value in ("abc123opaque", "zzz999", "k-1", "hunter2", "opq-77"):
        assert value not in text
    assert text.count(REDACTED) == 5


def test_secrets_are_caught_url_encoded() -> None:
    key = "a+b/c=d secret"
    assert "a%2Bb%2Fc%3Dd" not in redact_text("u?k=a%2Bb%2Fc%3Dd%20secret", [key])
    assert "tiny" in redact_text("tiny word", ["tiny"])  # too short to be a key: left alone


def test_ordinary_messages_are_untouched() -> None:
    text = "closed CON.F.US.MNQ.U26 for account 26282486 at 29547.25 (token refreshed)"
    assert redact_text(text, [API_KEY]) == text


def test_a_failing_provider_still_redacts_by_pattern() -> None:
    def broken() -> list[str]:
        raise RuntimeError("no")

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "t=%s", (TOKEN,), None)
    assert RedactingFilter(broken).filter(record)
    assert TOKEN not in record.getMessage()


def test_install_is_idempotent_and_covers_signalrcore_handlers() -> None:
    root_handler = logging.StreamHandler()
    signalr_handler = logging.StreamHandler()
    logging.getLogger().addHandler(root_handler)
    logging.getLogger("SignalRCoreClient").addHandler(signalr_handler)
    try:
        first = install_redaction(lambda: [API_KEY])
        second = install_redaction(lambda: [TOKEN])
        assert first is second
        assert root_handler.filters.count(first) == 1
        assert signalr_handler.filters.count(first) == 1
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (TOKEN,), None)
        assert first.filter(record) and TOKEN not in record.getMessage()
        uninstall_redaction()
        assert first not in root_handler.filters and first not in signalr_handler.filters
    finally:
        logging.getLogger().removeHandler(root_handler)
        logging.getLogger("SignalRCoreClient").removeHandler(signalr_handler)
        uninstall_redaction()
