"""The session token's lifetime: when to refresh it and who to tell when it changes.

Docs say a token lives 24 h; the JWT's own ``exp`` claim is trusted over that when present.
Refreshing at half the remaining life (at most every 12 h) leaves room for a failed attempt.
The deadline is kept on both clocks: the monotonic clock stops while a laptop sleeps, the wall
clock does not, and the token expires by wall time.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
from collections.abc import Callable

from core.gateway.ratelimit import Clock

log = logging.getLogger(__name__)

TokenListener = Callable[[str], None]

DEFAULT_LIFETIME = 24 * 3600.0  # the documented token life, used when the JWT has no exp
MAX_REFRESH_INTERVAL = 12 * 3600.0
MIN_REFRESH_INTERVAL = 30.0  # a token that looks (nearly) expired: clock skew, not a hot loop
# The last second of year 9999: an ``exp`` past it (or one no float can hold) is nonsense, and a
# token whose lifetime cannot be read is treated as already expired (refreshed, or logged in
# again, soon) rather than trusted forever.
LATEST_PLAUSIBLE_EXP = 253_402_300_799.0
EXPIRED = 0.0


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim (Unix seconds) of a JWT, unverified; None when it has none.

    An absurd ``exp`` (not finite, past year 9999, too large for a float) reads as
    :data:`EXPIRED`. Never raises, whatever the bytes.
    """
    parts = token.split(".")
    if len(parts) < 2:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    try:
        value = float(exp)
    except OverflowError:  # an int with hundreds of digits
        return EXPIRED
    if not math.isfinite(value) or abs(value) > LATEST_PLAUSIBLE_EXP:
        return EXPIRED
    return value


class TokenKeeper:
    def __init__(self, clock: Clock, wall_clock: Clock) -> None:
        self._clock = clock
        self._wall = wall_clock
        self.token: str | None = None
        self._refresh_at = 0.0
        self._refresh_wall = 0.0
        self._listeners: list[TokenListener] = []

    def subscribe(self, callback: TokenListener) -> Callable[[], None]:
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def set(self, token: str) -> None:
        """Adopt a token from login/validate, schedule its refresh, tell listeners if new."""
        exp = jwt_expiry(token)
        life = DEFAULT_LIFETIME if exp is None else exp - self._wall()
        self.schedule(min(max(life / 2, MIN_REFRESH_INTERVAL), MAX_REFRESH_INTERVAL))
        if token == self.token:
            return
        self.token = token
        for listener in list(self._listeners):
            try:
                listener(token)
            except Exception:
                # One broken hub must not stop the others from getting the new token.
                log.exception("token listener %r failed", listener)

    def schedule(self, delay: float) -> None:
        self._refresh_at = self._clock() + delay
        self._refresh_wall = self._wall() + delay

    def refresh_due(self) -> bool:
        return self._clock() >= self._refresh_at or self._wall() >= self._refresh_wall

    def seconds_until_refresh(self) -> float:
        return min(self._refresh_at - self._clock(), self._refresh_wall - self._wall())
