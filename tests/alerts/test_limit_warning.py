"""Warnings before a limit (the Maximum Loss Limit guard's distance, a ladder's share used) go
out as "warning" alerts, in the trader's words, only to the services that chose warnings."""

from __future__ import annotations

from datetime import date

from core.app.alerts.words import AlertWords
from core.engine.notices import LimitWarning
from tests.alerts.support import ACCOUNT, T0, AlertServer, FakeTime, make_dispatcher, until

DAY = date(2026, 8, 19)
MLL = LimitWarning(ACCOUNT, "RULE-014", "$480.00 from the Maximum Loss Limit floor $48,000.00; "
                   "the guard acts at $250.00", 500.0, DAY)
LADDER = LimitWarning(ACCOUNT, "RESTRICT", "Daily profit target: 80% used", 0.8, DAY)


def test_the_words_name_the_limit_never_the_rule_id() -> None:
    words = AlertWords("America/Chicago")
    words.names[ACCOUNT] = "50KTC-V2-DEMO"
    alert = words.describe(MLL, T0)
    assert alert is not None and alert.event == "warning"
    assert alert.title == f"50KTC-V2-DEMO ({ACCOUNT}): $500.00 from the Maximum Loss Limit"
    assert alert.text.startswith("$480.00 from the Maximum Loss Limit floor $48,000.00")
    assert "RULE-014" not in alert.title + alert.text
    ladder = words.describe(LADDER, T0)
    assert ladder is not None and ladder.title.endswith(": daily profit target 80% used")
    assert "RESTRICT" not in ladder.title + ladder.text


async def test_a_limit_warning_reaches_a_service_that_wants_warnings(server: AlertServer) -> None:
    dispatcher = make_dispatcher(server, ["webhook"], fake=FakeTime())
    await dispatcher.start()
    dispatcher.bus.publish(MLL)
    await until(lambda: server.requests, "the warning")
    await dispatcher.stop()
    body = server.requests[0].json()
    assert body["event"] == "warning"
    assert body["alerts"][0]["title"].endswith("$500.00 from the Maximum Loss Limit")


async def test_a_service_without_warnings_gets_none(server: AlertServer) -> None:
    dispatcher = make_dispatcher(server, ["webhook"], fake=FakeTime(), events=["lock_set"])
    await dispatcher.start()
    dispatcher.bus.publish(MLL)
    dispatcher.bus.publish(LADDER)
    await dispatcher.stop()
    assert server.requests == []
