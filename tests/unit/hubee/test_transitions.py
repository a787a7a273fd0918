"""The life-cycle rules, as a table and as a Hypothesis state machine."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hubee.errors import IllegalTransition
from hubee.model import EventStatus, Side, Status, SubscriptionStatus
from hubee.transitions import (
    CASE_RANK,
    FolderMove,
    check_case_move,
    check_event_move,
    check_folder_move,
    check_subscription_move,
)

S = Status

ALLOWED = [
    (S.HUBEE_RECEIVED, S.HUBEE_NOTIFIED, Side.HUB),
    (S.HUBEE_NOTIFIED, S.SENT, Side.HUB),
    (S.HUBEE_NOTIFIED, S.SENT, Side.SI),
    (S.SENT, S.SI_RECEIVED, Side.SI),
    (S.SENT, S.IN_PROGRESS, Side.SI),  # DINUM's SolutionSI skips SI_RECEIVED
    (S.SENT, S.DONE, Side.SI),
    (S.SENT, S.SI_INTG_ERROR, Side.SI),
    (S.SI_RECEIVED, S.SI_INTG_ERROR, Side.SI),
    (S.SI_INTG_ERROR, S.SI_RECEIVED, Side.SI),
    (S.IN_PROGRESS, S.ADD_AWAITING, Side.SI),
    (S.ADD_AWAITING, S.IN_PROGRESS, Side.SI),
    (S.ADD_AWAITING, S.REFUSED, Side.SI),
    (S.IN_PROGRESS, S.DONE, Side.SI),
    (S.DONE, S.CLOSED, Side.OSL),
    (S.REFUSED, S.CLOSED, Side.OSL),
    (S.CLOSED, S.IN_PROGRESS, Side.OSL),  # reopen
    (S.SENT, S.IN_PROGRESS, Side.OSL),
    (S.CLOSED, S.ARCHIVED, Side.HUB),
    (S.DONE, S.CLOSED, Side.ADMIN),
    (S.SENT, S.SI_RECEIVED, Side.ADMIN),
]

REFUSED = [
    (S.HUBEE_RECEIVED, S.SENT, Side.SI, "case-not-delivered"),
    (S.HUBEE_NOTIFIED, S.SI_RECEIVED, Side.SI, "si-fetch-first"),
    (S.IN_PROGRESS, S.SI_RECEIVED, Side.SI, "si-forward-only"),
    (S.DONE, S.IN_PROGRESS, Side.SI, "decision-is-final"),
    (S.DONE, S.REFUSED, Side.SI, "decision-is-final"),
    (S.DONE, S.CLOSED, Side.SI, "osl-closes"),
    (S.IN_PROGRESS, S.CLOSED, Side.OSL, "osl-closes-decided"),
    (S.SENT, S.DONE, Side.OSL, "osl-moves"),
    (S.CLOSED, S.ARCHIVED, Side.OSL, "hub-archives"),
    (S.SENT, S.HUBEE_NOTIFIED, Side.ADMIN, "hub-notifies"),
    (S.ARCHIVED, S.IN_PROGRESS, Side.OSL, "archived-is-final"),
    (S.SENT, S.HUBEE_COMPLETED, Side.SI, "case-status-known"),
    (S.DONE, S.SENT, Side.HUB, "hub-moves"),
]


@pytest.mark.parametrize(("current", "target", "side"), ALLOWED)
def test_allowed_case_moves(current: Status, target: Status, side: Side) -> None:
    assert check_case_move(current, target, side) is True


@pytest.mark.parametrize(("current", "target", "side", "rule"), REFUSED)
def test_refused_case_moves_name_their_rule(
    current: Status, target: Status, side: Side, rule: str
) -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_case_move(current, target, side)
    assert caught.value.rule == rule
    assert f"(rule: {rule})" in str(caught.value)


@given(st.sampled_from([s for s in CASE_RANK if s is not S.HUBEE_RECEIVED]), st.sampled_from(Side))
def test_the_same_status_again_is_a_no_op(status: Status, side: Side) -> None:
    assert check_case_move(status, status, side) is False


def test_folder_moves() -> None:
    assert check_folder_move(S.HUBEE_RECEIVED, S.HUBEE_COMPLETED, set()) == FolderMove.COMPLETE
    assert check_folder_move(S.HUBEE_NOTIFIED, S.HUBEE_COMPLETED, set()) == FolderMove.NOOP
    assert check_folder_move(S.HUBEE_NOTIFIED, S.DONE, {S.DONE, S.SENT}) == FolderMove.SET
    for current, target, cases, name in [
        (S.HUBEE_RECEIVED, S.CLOSED, set(), "folder-complete-first"),
        (S.HUBEE_NOTIFIED, S.CLOSED, {S.DONE}, "folder-follows-cases"),
        (S.HUBEE_NOTIFIED, S.ARCHIVED, {S.ARCHIVED}, "hub-sets"),
        (S.ARCHIVED, S.CLOSED, {S.CLOSED}, "archived-is-final"),
    ]:
        with pytest.raises(IllegalTransition) as caught:
            check_folder_move(current, target, cases)
        assert caught.value.rule == name


def test_event_moves() -> None:
    E = EventStatus
    assert check_event_move(E.IN_PROGRESS, E.SENT, creator=True)
    assert check_event_move(E.SENT, E.RECEIVED, creator=False)
    assert check_event_move(E.SENT, E.RECEIVED, creator=None)
    assert not check_event_move(E.RECEIVED, E.RECEIVED, creator=False)
    for current, target, creator, name in [
        (E.IN_PROGRESS, E.SENT, False, "event-sent-by-creator"),
        (E.SENT, E.RECEIVED, True, "event-ack-by-recipient"),
        (E.RECEIVED, E.SENT, None, "event-forward-only"),
        (E.IN_PROGRESS, E.RECEIVED, False, "event-forward-only"),
    ]:
        with pytest.raises(IllegalTransition) as caught:
            check_event_move(current, target, creator=creator)
        assert caught.value.rule == name


@given(st.sampled_from(SubscriptionStatus), st.sampled_from(SubscriptionStatus))
def test_subscription_lifecycle(current: SubscriptionStatus, target: SubscriptionStatus) -> None:
    A, I, R, P = (  # noqa: E741
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.INACTIVE,
        SubscriptionStatus.REFUSED,
        SubscriptionStatus.SUSPENDED,
    )
    legal = {(I, A), (I, R), (A, P), (P, A)}
    if current is target:
        assert check_subscription_move(current, target) is False
    elif (current, target) in legal:
        assert check_subscription_move(current, target) is True
    else:
        with pytest.raises(IllegalTransition) as caught:
            check_subscription_move(current, target)
        assert caught.value.rule == "subscription-lifecycle"


class CaseLife(RuleBasedStateMachine):
    """Any sequence of requests from any side keeps a case within its life cycle."""

    def __init__(self) -> None:
        super().__init__()
        self.status = S.HUBEE_RECEIVED
        self.history = [self.status]
        self.decided = False

    @rule(wanted=st.sampled_from(Status), side=st.sampled_from(Side))
    def request(self, wanted: Status, side: Side) -> None:
        target = wanted
        before = self.status
        try:
            changed = check_case_move(before, target, side)
        except IllegalTransition as refused:
            assert refused.rule and refused.rule in str(refused)
            return
        if not changed:
            assert target is before
            return
        self.status = target
        self.history.append(target)
        # Who may do what.
        if side is Side.SI:
            assert target is not S.CLOSED and target is not S.ARCHIVED
            assert before not in {S.DONE, S.REFUSED, S.CLOSED, S.HUBEE_RECEIVED}
            assert (
                CASE_RANK[target] > CASE_RANK[before]
                or {before, target} == {S.IN_PROGRESS, S.ADD_AWAITING}
                or target is S.SI_INTG_ERROR
            )
        if side is Side.OSL:
            assert target in {S.CLOSED, S.IN_PROGRESS}
        if target is S.CLOSED:
            assert before in {S.DONE, S.REFUSED}
        if target is S.ARCHIVED:
            assert side is Side.HUB and before is S.CLOSED
        if before is S.HUBEE_RECEIVED:
            assert side is Side.HUB and target is S.HUBEE_NOTIFIED

    @rule()
    def deliver(self) -> None:
        """The hub's own steps, so that runs get past delivery and reach the end."""
        for wanted in (S.HUBEE_NOTIFIED, S.SENT, S.ARCHIVED):
            self.request(wanted, Side.HUB)

    @invariant()
    def archived_is_final(self) -> None:
        if S.ARCHIVED in self.history:
            assert self.history[-1] is S.ARCHIVED
            assert self.history.count(S.ARCHIVED) == 1

    @invariant()
    def never_back_to_received(self) -> None:
        assert self.history.count(S.HUBEE_RECEIVED) == 1


TestCaseLife = CaseLife.TestCase
TestCaseLife.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
