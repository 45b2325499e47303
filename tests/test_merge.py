"""Every breach counts, and the commands of all of them are merged so each contract is closed
and each order cancelled once (a whole close absorbs a partial one)."""

from __future__ import annotations

from core.domain.commands import (
    CancelOrder,
    CloseContract,
    Flatten,
    ModifyStop,
    PartialClose,
    PlaceStop,
)
from core.engine.merge import merge_commands

A, B = 1, 2
MNQ, MES = "CON.F.US.MNQ.U26", "CON.F.US.MES.U26"


def close(contract: str, rule: str = "R1", account: int = A) -> CloseContract:
    return CloseContract(account_id=account, rule_id=rule, reason=rule, contract_id=contract)


def reduce(contract: str, size: int, rule: str = "R1") -> PartialClose:
    return PartialClose(account_id=A, rule_id=rule, reason=rule, contract_id=contract, size=size)


def cancel(order_id: int, rule: str = "R1", account: int = A) -> CancelOrder:
    return CancelOrder(account_id=account, rule_id=rule, reason=rule, order_id=order_id)


def flatten(contracts: tuple[str, ...] = (), orders: tuple[int, ...] = (), rule: str = "R3") -> Flatten:
    return Flatten(account_id=A, rule_id=rule, reason=rule, contract_ids=contracts, order_ids=orders)


def test_one_command_passes_through() -> None:
    assert merge_commands([close(MNQ)]) == [close(MNQ)]


def test_a_close_is_sent_once() -> None:
    assert merge_commands([close(MNQ, "GATE"), close(MNQ, "R4")]) == [close(MNQ, "GATE")]


def test_a_whole_close_absorbs_a_partial_close_before_or_after_it() -> None:
    assert merge_commands([reduce(MNQ, 1), close(MNQ, "R11")]) == [close(MNQ, "R11")]
    assert merge_commands([close(MNQ, "R11"), reduce(MNQ, 1)]) == [close(MNQ, "R11")]


def test_two_partial_closes_keep_the_larger() -> None:
    assert merge_commands([reduce(MNQ, 1, "R1"), reduce(MNQ, 2, "R2")]) == [reduce(MNQ, 2, "R2")]


def test_partial_closes_of_different_contracts_both_go() -> None:
    assert merge_commands([reduce(MNQ, 1), reduce(MES, 1)]) == [reduce(MNQ, 1), reduce(MES, 1)]


def test_a_cancel_is_sent_once() -> None:
    assert merge_commands([cancel(9, "GATE"), cancel(9, "R11")]) == [cancel(9, "GATE")]


def test_a_flatten_absorbs_the_accounts_closes_and_cancels_and_learns_their_targets() -> None:
    merged = merge_commands([close(MES, "GATE"), cancel(9, "GATE"), flatten((MNQ,), (7,))])
    assert merged == [flatten((MNQ, MES), (7, 9))]


def test_two_flattens_of_one_account_become_one() -> None:
    merged = merge_commands([flatten((MNQ,), (), "R3"), flatten((MNQ, MES), (4,), "R10")])
    assert merged == [flatten((MNQ, MES), (4,), "R3")]


def test_another_accounts_commands_are_untouched_by_a_flatten() -> None:
    other = close(MNQ, account=B)
    assert merge_commands([flatten((MNQ,)), other]) == [flatten((MNQ,)), other]


def test_stop_changes_give_way_to_a_close_or_a_flatten() -> None:
    move = ModifyStop(account_id=A, rule_id="R12", reason="be", order_id=5, contract_id=MNQ,
                      stop_price=100.0)
    place = PlaceStop(account_id=A, rule_id="R12", reason="be", contract_id=MES, side=1, size=1,
                      stop_price=5.0)
    assert merge_commands([close(MNQ), move]) == [close(MNQ)]
    assert merge_commands([flatten((MNQ,)), move, place]) == [flatten((MNQ,))]
    assert merge_commands([reduce(MNQ, 1), move]) == [reduce(MNQ, 1)]
    assert merge_commands([close(MNQ), place]) == [close(MNQ), place]  # another contract


def test_a_stop_resize_stays_beside_a_partial_close() -> None:
    resize = ModifyStop(account_id=A, rule_id="STOP-SIZE", reason="r", order_id=5,
                        contract_id=MNQ, size=1)
    assert merge_commands([reduce(MNQ, 1), resize]) == [reduce(MNQ, 1), resize]
