"""The life-cycle rules: which status moves are allowed, and for whom.

Pure functions: each returns ``True`` when the move changes something, ``False`` for a
no-op (the same status again, so that a retried request answers as the first), and
raises :class:`~hub.errors.IllegalTransition` naming the rule otherwise.

Case statuses (DESIGN.md §3, HubEE SFD)::

    HUBEE_RECEIVED (folder not yet complete; the case is not delivered)
    → HUBEE_NOTIFIED (hub, when the OSL declares the folder HUBEE_COMPLETED)
    → SENT (SI fetched) → SI_RECEIVED → IN_PROGRESS ⇄ ADD_AWAITING
    → DONE | REFUSED → CLOSED (OSL) → ARCHIVED (hub, after the démarche's delay)
    SI_INTG_ERROR: the SI could not integrate the case (from SENT or SI_RECEIVED).
    The OSL may reopen a case (→ IN_PROGRESS) from any status but ARCHIVED.

The SI moves forward along that order and may skip steps: DINUM's reference SI client
(``SolutionSI``) goes SENT → IN_PROGRESS → DONE, or SENT → DONE, with STATUS_UPDATE
events. It never moves back, except IN_PROGRESS ⇄ ADD_AWAITING.
"""

from __future__ import annotations

from collections.abc import Collection

from hubee.errors import IllegalTransition
from hubee.model import EventStatus, Side, Status, SubscriptionStatus

# Position of each case status along the life cycle; equal ranks are alternatives.
CASE_RANK: dict[Status, int] = {
    Status.HUBEE_RECEIVED: 0,
    Status.HUBEE_NOTIFIED: 1,
    Status.SENT: 2,
    Status.SI_INTG_ERROR: 2,
    Status.SI_RECEIVED: 3,
    Status.IN_PROGRESS: 4,
    Status.ADD_AWAITING: 4,
    Status.DONE: 5,
    Status.REFUSED: 5,
    Status.CLOSED: 6,
    Status.ARCHIVED: 7,
}
CASE_STATUSES = frozenset(CASE_RANK)
_DECIDED = frozenset({Status.DONE, Status.REFUSED})
_SI_TARGETS = frozenset(
    {
        Status.SENT,
        Status.SI_RECEIVED,
        Status.SI_INTG_ERROR,
        Status.IN_PROGRESS,
        Status.ADD_AWAITING,
        Status.DONE,
        Status.REFUSED,
    }
)


def check_case_move(current: Status, target: Status, side: Side) -> bool:
    """Whether ``side`` may move a case from ``current`` to ``target``."""
    if target not in CASE_STATUSES or target is Status.HUBEE_RECEIVED:
        raise IllegalTransition(
            "case-status-known",
            f"{target.value} is not a status a case can be given; a case takes one of "
            + ", ".join(s.value for s in CASE_RANK if s is not Status.HUBEE_RECEIVED),
        )
    if target is current:
        return False
    if current is Status.HUBEE_RECEIVED and side is not Side.HUB:
        raise IllegalTransition(
            "case-not-delivered",
            "the case is delivered when its folder is declared HUBEE_COMPLETED; "
            "until then its status cannot change",
        )
    if current is Status.ARCHIVED:
        raise IllegalTransition(
            "archived-is-final", "an ARCHIVED case has had its files purged and cannot change"
        )
    if side is Side.HUB:
        return _hub_move(current, target)
    if target is Status.ARCHIVED:
        raise IllegalTransition(
            "hub-archives", "only the hub archives a case, after the démarche's delay"
        )
    if target is Status.HUBEE_NOTIFIED:
        raise IllegalTransition("hub-notifies", "only the hub marks a case HUBEE_NOTIFIED")
    if side is Side.SI:
        _si_move(current, target)
    elif side is Side.OSL:
        _osl_move(current, target)
    else:  # ADMIN may do what either party may do
        try:
            _si_move(current, target)
        except IllegalTransition:
            _osl_move(current, target)
    return True


def _hub_move(current: Status, target: Status) -> bool:
    if (current, target) in {
        (Status.HUBEE_RECEIVED, Status.HUBEE_NOTIFIED),
        (Status.HUBEE_NOTIFIED, Status.SENT),
        (Status.CLOSED, Status.ARCHIVED),
    }:
        return True
    raise IllegalTransition(
        "hub-moves",
        f"the hub itself only notifies a completed case, marks a fetched one SENT and "
        f"archives CLOSED ones, "
        f"not {current.value} → {target.value}",
    )


def _si_move(current: Status, target: Status) -> None:
    if target is Status.CLOSED:
        raise IllegalTransition(
            "osl-closes", "only the operator (OSL) closes a case, once it is DONE or REFUSED"
        )
    if target not in _SI_TARGETS:
        raise IllegalTransition("si-targets", f"the SI cannot set {target.value}")
    if current is Status.HUBEE_NOTIFIED and target is not Status.SENT:
        raise IllegalTransition(
            "si-fetch-first",
            f"the SI must fetch the case (GET /cases/{{id}}: SENT) before setting {target.value}",
        )
    if current in _DECIDED or current is Status.CLOSED:
        raise IllegalTransition(
            "decision-is-final",
            f"a {current.value} case can only be closed or reopened by its operator",
        )
    if {current, target} == {Status.IN_PROGRESS, Status.ADD_AWAITING}:
        return
    if target is Status.SI_INTG_ERROR and current in {Status.SENT, Status.SI_RECEIVED}:
        return
    if CASE_RANK[target] <= CASE_RANK[current]:
        raise IllegalTransition(
            "si-forward-only",
            f"the SI moves a case forward only ({current.value} → {target.value} goes back)",
        )


def _osl_move(current: Status, target: Status) -> None:
    if target is Status.CLOSED:
        if current in _DECIDED:
            return
        raise IllegalTransition(
            "osl-closes-decided",
            f"a case is closed once DONE or REFUSED, and this one is {current.value}",
        )
    if target is Status.IN_PROGRESS:
        return  # reopening, allowed from any status but ARCHIVED
    raise IllegalTransition(
        "osl-moves",
        f"the operator only closes a decided case or reopens one (→ IN_PROGRESS), "
        f"not {current.value} → {target.value}",
    )


class FolderMove:
    """What a folder status change means, once it is allowed."""

    COMPLETE = "complete"
    NOOP = "noop"
    SET = "set"


def check_folder_move(current: Status, target: Status, case_statuses: Collection[Status]) -> str:
    """Classify an OSL's change of a folder's ``globalStatus``: a :class:`FolderMove` value.

    The OSL completes a HUBEE_RECEIVED folder (HUBEE_COMPLETED); afterwards the folder's
    status summarises its cases, which the OSL updates first (spec: "OSL or ADMIN must
    update the cases status before the folder status"), so the new value must be the
    status of one of its cases.
    """
    if target is Status.HUBEE_COMPLETED:
        if current is Status.HUBEE_RECEIVED:
            return FolderMove.COMPLETE
        return FolderMove.NOOP  # a retried completion answers as the first
    if target is current:
        return FolderMove.NOOP
    if current is Status.HUBEE_RECEIVED:
        raise IllegalTransition(
            "folder-complete-first",
            f"a HUBEE_RECEIVED folder can only be declared HUBEE_COMPLETED, not {target.value}",
        )
    if current is Status.ARCHIVED:
        raise IllegalTransition("archived-is-final", "an ARCHIVED folder cannot change")
    if target in {Status.HUBEE_RECEIVED, Status.HUBEE_NOTIFIED, Status.ARCHIVED}:
        raise IllegalTransition("hub-sets", f"only the hub sets a folder {target.value}")
    if target not in case_statuses:
        raise IllegalTransition(
            "folder-follows-cases",
            f"update the cases before the folder: none of its cases is {target.value} "
            f"(they are {', '.join(sorted(s.value for s in case_statuses))})",
        )
    return FolderMove.SET


def check_event_move(current: EventStatus, target: EventStatus, *, creator: bool | None) -> bool:
    """Event status IN_PROGRESS → SENT (by its creator) → RECEIVED (by the other side).

    ``creator`` is whether the caller is on the side that created the event, ``None``
    for the hub's admin, who may act for either side.
    """
    if target is current:
        return False
    if (current, target) == (EventStatus.IN_PROGRESS, EventStatus.SENT):
        if creator is False:
            raise IllegalTransition(
                "event-sent-by-creator", "only the side that created the event sends it"
            )
        return True
    if (current, target) == (EventStatus.SENT, EventStatus.RECEIVED):
        if creator is True:
            raise IllegalTransition(
                "event-ack-by-recipient", "only the receiving side acknowledges an event"
            )
        return True
    raise IllegalTransition(
        "event-forward-only",
        f"an event goes IN_PROGRESS → SENT → RECEIVED, not {current.value} → {target.value}",
    )


_SUBSCRIPTION_MOVES: dict[SubscriptionStatus, frozenset[SubscriptionStatus]] = {
    SubscriptionStatus.INACTIVE: frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.REFUSED}),
    SubscriptionStatus.ACTIVE: frozenset({SubscriptionStatus.SUSPENDED}),
    SubscriptionStatus.SUSPENDED: frozenset({SubscriptionStatus.ACTIVE}),
    SubscriptionStatus.REFUSED: frozenset(),
}


def check_subscription_move(current: SubscriptionStatus, target: SubscriptionStatus) -> bool:
    """Subscriptions: Inactif → Actif ⇄ Suspendu, or Inactif → Refusé (final)."""
    if target is current:
        return False
    if target in _SUBSCRIPTION_MOVES[current]:
        return True
    raise IllegalTransition(
        "subscription-lifecycle",
        f"a subscription goes Inactif → Actif ⇄ Suspendu, or Inactif → Refusé; "
        f"not {current.value} → {target.value}",
    )
