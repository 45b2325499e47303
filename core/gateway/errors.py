"""What the gateway client raises, and what each endpoint's ``errorCode`` means.

Callers mostly need one distinction: "the goal is already met" (closing a position that is
already flat, cancelling an order that is already gone) versus a real failure. The
``already_*`` properties and the ``is_*`` helpers answer it without knowing the code tables.
"""

from __future__ import annotations

from core.gateway.ratelimit import normalize_endpoint

LOGIN = "Auth/loginKey"
VALIDATE = "Auth/validate"

# Per-endpoint errorCode enums from the gateway's swagger, index = code.
_ERROR_NAMES: dict[str, tuple[str, ...]] = {
    endpoint: tuple(("Success " + names).split())
    for endpoint, names in {
        LOGIN: "UserNotFound PasswordVerificationFailed InvalidCredentials AppNotFound "
        "AppVerificationFailed InvalidDevice AgreementsNotSigned UnknownError "
        "ApiSubscriptionNotFound ApiKeyAuthenticationDisabled",
        VALIDATE: "InvalidSession SessionNotFound ExpiredToken UnknownError",
        "Auth/logout": "InvalidSession UnknownError",
        "Account/search": "",
        "Position/searchOpen": "AccountNotFound",
        "Position/closeContract": "AccountNotFound PositionNotFound ContractNotFound "
        "ContractNotActive OrderRejected OrderPending UnknownError AccountRejected",
        "Position/partialCloseContract": "AccountNotFound PositionNotFound ContractNotFound "
        "ContractNotActive InvalidCloseSize OrderRejected OrderPending UnknownError "
        "AccountRejected",
        "Order/search": "AccountNotFound",
        "Order/searchOpen": "AccountNotFound",
        "Order/place": "AccountNotFound OrderRejected InsufficientFunds AccountViolation "
        "OutsideTradingHours OrderPending UnknownError ContractNotFound ContractNotActive "
        "AccountRejected",
        "Order/cancel": "AccountNotFound OrderNotFound Rejected Pending UnknownError "
        "AccountRejected",
        "Order/modify": "AccountNotFound OrderNotFound Rejected Pending UnknownError "
        "AccountRejected ContractNotFound",
        "Trade/search": "AccountNotFound",
        "Contract/search": "",
        "Contract/searchById": "ContractNotFound",
        "Contract/available": "",
        "History/retrieveBars": "ContractNotFound UnitInvalid UnitNumberInvalid LimitInvalid",
    }.items()
}

_CLOSE_ENDPOINTS = frozenset({"Position/closeContract", "Position/partialCloseContract"})
_ORDER_ENDPOINTS = frozenset({"Order/cancel", "Order/modify"})
_NOT_FOUND = 2  # PositionNotFound on the close endpoints, OrderNotFound on cancel/modify


def error_name(endpoint: str, code: int | None) -> str:
    names = _ERROR_NAMES.get(normalize_endpoint(endpoint), ())
    if code is not None and 0 <= code < len(names):
        return names[code]
    return "NoCode" if code is None else f"Unknown({code})"


class GatewayRestError(Exception):
    """Base of everything the REST client raises."""


class GatewayError(GatewayRestError):
    """HTTP 200 with ``success: false``: the gateway understood the request and refused it."""

    def __init__(self, endpoint: str, error_code: int | None, message: str | None = None) -> None:
        self.endpoint = normalize_endpoint(endpoint)
        self.error_code = error_code
        self.message = message or ""
        self.name = error_name(self.endpoint, error_code)
        code = "no errorCode" if error_code is None else f"errorCode {error_code} {self.name}"
        super().__init__(f"{self.endpoint} failed: {code}" + (f": {message}" if message else ""))

    @property
    def already_flat(self) -> bool:
        """A close of a position that no longer exists: the goal is already met."""
        return self.endpoint in _CLOSE_ENDPOINTS and self.error_code == _NOT_FOUND

    @property
    def order_gone(self) -> bool:
        """A cancel/modify of an order the gateway no longer knows as working."""
        return self.endpoint in _ORDER_ENDPOINTS and self.error_code == _NOT_FOUND

    @property
    def already_done(self) -> bool:
        return self.already_flat or self.order_gone


class AuthError(GatewayError):
    """Login or token validation refused; the message names the LoginErrorCode."""


class GatewayHttpError(GatewayRestError):
    """No usable answer: retries exhausted, an unexpected HTTP status, or no connection."""

    def __init__(self, endpoint: str, status: int | None, detail: str) -> None:
        self.endpoint = normalize_endpoint(endpoint)
        self.status = status
        self.detail = detail
        where = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"{self.endpoint}: {where}: {detail}")


class MalformedResponse(GatewayHttpError):
    """HTTP 200 whose body is not the documented envelope or lacks the expected list."""


class AmbiguousResult(GatewayRestError):
    """A money-moving call may or may not have been executed, and it was not resent.

    Re-read positions and orders over REST before deciding to send it again.
    """

    def __init__(self, endpoint: str, detail: str) -> None:
        self.endpoint = normalize_endpoint(endpoint)
        self.detail = detail
        super().__init__(f"{self.endpoint}: outcome unknown, not resent: {detail}")


def is_already_flat(exc: BaseException) -> bool:
    return isinstance(exc, GatewayError) and exc.already_flat


def is_order_gone(exc: BaseException) -> bool:
    return isinstance(exc, GatewayError) and exc.order_gone


def is_already_done(exc: BaseException) -> bool:
    """True when the failed enforcement call's goal is met anyway (flat, or order gone)."""
    return isinstance(exc, GatewayError) and exc.already_done
