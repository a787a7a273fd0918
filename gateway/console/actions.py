"""The agents' actions, as HubEE events through the gateway's own engine.

Each is what a HubEE SI client would do on the LAN API, by the same code
(:class:`hubee.cases.Cases`, :class:`hubee.attachments.Attachments`): the engine checks
the life-cycle rules (:mod:`hubee.transitions`), the gateway's sink journals the fact
and queues it for the hub, which passes it to the operator.

- acknowledge: STATUS_UPDATE → SI_RECEIVED (« accusé de réception métier »);
- take in hand: STATUS_UPDATE → IN_PROGRESS;
- ask for more: STATUS_UPDATE → ADD_AWAITING, with the agent's message;
- finish: STATUS_UPDATE → DONE or REFUSED, with the agent's message;
- reply: an ATTACH_DEPOSIT event with a message and one file (sent once uploaded).

Every event asks to notify the operator (``notification: true``).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from gateway.console.dossier import CONSOLE_PARTNER
from gateway.runtime import GatewayRuntime
from hubee.attachments import digest_header
from hubee.commands import NewAttachment, NewEvent
from hubee.model import ActionType, Event, Principal, Status

REPLY_TYPE = "REPONSE"
MAX_MESSAGE = 4000


class Action(enum.Enum):
    ACKNOWLEDGE = "accuser-reception"
    TAKE = "prendre-en-charge"
    ASK = "demander-complements"
    DONE = "terminer"
    REFUSE = "refuser"
    REPLY = "repondre"


@dataclass(frozen=True)
class ActionSpec:
    target: Status | None
    needs_message: bool
    default_message: str
    done: str  # the flash message once done


SPECS: dict[Action, ActionSpec] = {
    Action.ACKNOWLEDGE: ActionSpec(
        Status.SI_RECEIVED, False, "Accusé de réception", "La réception du dossier est accusée."
    ),
    Action.TAKE: ActionSpec(
        Status.IN_PROGRESS, False, "Dossier pris en charge", "Le dossier est pris en charge."
    ),
    Action.ASK: ActionSpec(Status.ADD_AWAITING, True, "", "La demande de compléments est envoyée."),
    Action.DONE: ActionSpec(Status.DONE, True, "", "Le dossier est terminé."),
    Action.REFUSE: ActionSpec(Status.REFUSED, True, "", "Le dossier est refusé."),
    Action.REPLY: ActionSpec(None, True, "", "La réponse et sa pièce jointe sont envoyées."),
}


def clean_message(text: str | None) -> str:
    return (text or "").strip()[:MAX_MESSAGE]


async def change_status(
    runtime: GatewayRuntime,
    principal: Principal,
    case_id: str,
    action: Action,
    *,
    message: str | None,
    now: datetime,
) -> Event:
    """A STATUS_UPDATE event; raises IllegalTransition when the move is not allowed."""
    spec = SPECS[action]
    assert spec.target is not None
    cmd = NewEvent(
        action_type=ActionType.STATUS_UPDATE,
        notification=True,
        message=clean_message(message) or spec.default_message,
        case_new_status=spec.target,
    )
    return await runtime.services.cases.create_event(
        principal, case_id, cmd, partner=CONSOLE_PARTNER, now=now
    )


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def reply(
    runtime: GatewayRuntime,
    principal: Principal,
    case_id: str,
    *,
    message: str,
    file_name: str,
    mime_type: str,
    data: bytes,
    now: datetime,
) -> Event:
    """A message with one file: the event, then its upload (which sends it)."""
    cmd = NewEvent(
        action_type=ActionType.ATTACH_DEPOSIT,
        notification=True,
        message=clean_message(message),
        attachments=(NewAttachment(file_name, REPLY_TYPE, len(data), mime_type),),
    )
    services = runtime.services
    event = await services.cases.create_event(
        principal, case_id, cmd, partner=CONSOLE_PARTNER, now=now
    )
    await services.attachments.receive_for_event(
        principal,
        case_id,
        event.id,
        event.attachments[0].id,
        _once(data),
        digest=digest_header(hashlib.sha256(data).hexdigest()),
        content_length=len(data),
        now=now,
    )
    return event
