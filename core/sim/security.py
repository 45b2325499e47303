"""Tokens, per-token rate limits and scripted failures for the simulated gateway."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

Now = Callable[[], datetime]
Monotonic = Callable[[], float]

BARS_PATH = "history/retrievebars"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass
class _TokenInfo:
    username: str
    expires_at: datetime
    revoked: bool = False


class TokenStore:
    """JWT-looking tokens (HS256 over a per-process secret) with an ``exp`` claim.

    Validity is decided by this registry, not by decoding: expiring or revoking a token makes
    it fail everywhere at once, REST and hub upgrade alike.
    """

    def __init__(self, now: Now, lifetime: timedelta = timedelta(hours=24)) -> None:
        self._now = now
        self.lifetime = lifetime
        self._secret = secrets.token_bytes(32)
        self._serial = itertools.count(1)
        self._tokens: dict[str, _TokenInfo] = {}

    def issue(self, username: str, lifetime: timedelta | None = None) -> str:
        issued = self._now()
        expires = issued + (self.lifetime if lifetime is None else lifetime)
        claims: dict[str, Any] = {
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": username,
            "sub": username,
            "jti": f"sim-{next(self._serial)}-{secrets.token_hex(4)}",
            "iat": int(issued.timestamp()),
            "nbf": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
            "iss": "https://sim.projectx.local",
            "aud": "https://sim.projectx.local",
        }
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        token = f"{header}.{body}.{_b64url(signature)}"
        self._tokens[token] = _TokenInfo(username, expires)
        return token

    def username(self, token: str | None) -> str | None:
        """The user a valid token belongs to, or None when unknown, revoked or expired."""
        if not token:
            return None
        info = self._tokens.get(token)
        if info is None or info.revoked or self._now() >= info.expires_at:
            return None
        return info.username

    def revoke(self, token: str) -> None:
        info = self._tokens.get(token)
        if info is not None:
            info.revoked = True

    def expire_all(self) -> None:
        for info in self._tokens.values():
            info.revoked = True


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


class RateLimiter:
    """Sliding windows per token: 200 requests / 60 s, retrieveBars 50 / 30 s (docs §2.5)."""

    def __init__(
        self,
        clock: Monotonic,
        general: tuple[int, float] = (200, 60.0),
        bars: tuple[int, float] = (50, 30.0),
    ) -> None:
        self._clock = clock
        self.general = general
        self.bars = bars
        self._hits: dict[tuple[str, bool], deque[float]] = {}

    def allow(self, token: str, path: str) -> bool:
        is_bars = normalize_path(path) == BARS_PATH
        limit, window = self.bars if is_bars else self.general
        hits = self._hits.setdefault((token, is_bars), deque())
        now = self._clock()
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True

    def reset(self) -> None:
        self._hits.clear()


def normalize_path(path: str) -> str:
    """``/api/Order/place`` and ``Order/place`` name the same endpoint (routing ignores case)."""
    text = path.strip().strip("/").lower()
    return text[4:] if text.startswith("api/") else text


@dataclass
class _Fault:
    status: int
    remaining: int
    path: str | None


class FaultPlan:
    """Bare HTTP failures to serve instead of the next matching REST responses, and a delay."""

    def __init__(self) -> None:
        self._faults: list[_Fault] = []
        self.delay_ms = 0.0

    def inject(self, status: int, count: int = 1, path: str | None = None) -> None:
        if count > 0:
            self._faults.append(_Fault(status, count, None if path is None else normalize_path(path)))

    def take(self, path: str) -> int | None:
        wanted = normalize_path(path)
        for fault in self._faults:
            if fault.remaining > 0 and fault.path in (None, wanted):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault.status
        return None

    def clear(self) -> None:
        self._faults.clear()
        self.delay_ms = 0.0
