"""The checkpoint witness: the hub cosigns a gateway's journal checkpoints, but only
those that extend what it cosigned before.

For each checkpoint (a C2SP signed note) a gateway sends with a consistency proof
from the last checkpoint the witness cosigned for it:

1. the note must verify with the journal key the gateway registered at enrollment,
   and its origin must be that key's name (one log per key);
2. ``fromSize`` must be the size the witness last cosigned for this gateway (0 at
   first: the first checkpoint is trusted on first use);
3. a smaller size (rollback), the same size with another root (fork), or a proof
   that fails RFC 9162 §2.1.4.2 is refused (409), written to ``link_witness_alerts``,
   journaled as ``checkpoint.refused`` and logged at ERROR: it is never cosigned;
4. otherwise the witness adds its C2SP tlog-cosignature/v1 and stores the note.

The check and the store run in one unit of work, so concurrent checkpoints from one
gateway are judged one after the other against the latest cosigned one.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime

from hub.errors import CheckpointRefused
from hub.fact_sink import HubSink
from hub.link_model import LinkCaller, Witnessed
from hub.link_payloads import CheckpointPush
from hub.link_tx import link_tx
from hubee.errors import Conflict, ValidationFailed
from hubee.store import Store, StoreTx
from trust.checkpoint import Checkpoint, SignedNote, VerifierKey, cosign, verify_note
from trust.errors import MalformedInputError
from trust.keys import Signer
from trust.merkle import EMPTY_ROOT, ConsistencyProof, verify_consistency

log = logging.getLogger("hub.witness")


@dataclass(frozen=True)
class _Verdict:
    cosigned: bytes | None = None
    refusal: str | None = None
    alert: bool = False


class Witness:
    def __init__(self, store: Store, sink: HubSink, *, signer: Signer, key_name: str) -> None:
        self._store = store
        self._sink = sink
        self._signer = signer
        self._name = key_name

    def _parse(self, caller: LinkCaller, push: CheckpointPush) -> tuple[SignedNote, Checkpoint]:
        key = VerifierKey.parse(caller.gateway.journal_key)
        try:
            note = SignedNote.parse(push.note)
            checkpoint = note.checkpoint()
        except MalformedInputError as exc:
            raise ValidationFailed("note", exc.message) from None
        verified = verify_note(note, verifier_keys=[key])
        if not verified.ok:
            log.warning(
                "gateway %s sent a checkpoint its journal key did not sign", caller.gateway.id
            )
            raise ValidationFailed(
                "note",
                "is not signed by this gateway's journal key: " + "; ".join(verified.reasons),
            )
        if checkpoint.origin != key.name:
            raise ValidationFailed(
                "note", f"origin {checkpoint.origin!r} is not this gateway's journal ({key.name!r})"
            )
        return note, checkpoint

    async def witness(self, caller: LinkCaller, push: CheckpointPush, *, now: datetime) -> bytes:
        """The note with the witness's cosignature; CheckpointRefused when inconsistent."""
        note, checkpoint = self._parse(caller, push)
        gateway_id = caller.gateway.id

        def judge(tx: StoreTx) -> _Verdict:
            link = link_tx(tx)
            last = link.last_witnessed(gateway_id)
            size, root = (0, EMPTY_ROOT) if last is None else (last.size, last.root)
            if push.from_size != size:
                return _Verdict(
                    refusal=f"fromSize is {push.from_size}, but the last checkpoint this witness "
                    f"cosigned for this gateway has size {size}: send a proof from {size}"
                )
            problem = None
            if checkpoint.size < size:
                problem = f"rollback: size {checkpoint.size} is below the cosigned size {size}"
            elif checkpoint.size == size and checkpoint.root != root:
                problem = f"fork: size {size} with another root than the one cosigned"
            elif checkpoint.size == size and last is not None:
                return _Verdict(cosigned=last.cosigned_note)
            elif not verify_consistency(
                ConsistencyProof(size, checkpoint.size, push.proof),
                first_root=root,
                second_root=checkpoint.root,
            ):
                problem = (
                    f"inconsistent: the proof does not show the tree of size {size} is a prefix "
                    f"of the new one of size {checkpoint.size}"
                )
            if problem is not None:
                link.insert_alert(
                    gateway_id, at=now, reason=problem, note=note.to_bytes(), from_size=size
                )
                self._sink.record(
                    tx,
                    "checkpoint.refused",
                    gateway_id,
                    now,
                    {"reason": problem, "size": checkpoint.size, "cosignedSize": size},
                )
                return _Verdict(refusal=problem, alert=True)
            cosigned = cosign(note, signer=self._signer, name=self._name, at=now).to_bytes()
            link.insert_witnessed(
                Witnessed(
                    gateway_id, checkpoint.size, checkpoint.root, note.to_bytes(), cosigned, now
                )
            )
            self._sink.record(
                tx,
                "checkpoint.cosigned",
                gateway_id,
                now,
                {
                    "origin": checkpoint.origin,
                    "size": checkpoint.size,
                    "root": base64.b64encode(checkpoint.root).decode(),
                },
            )
            return _Verdict(cosigned=cosigned)

        verdict = await self._store.write(judge)
        if verdict.alert:
            log.error("WITNESS ALERT for gateway %s: %s", gateway_id, verdict.refusal)
            raise CheckpointRefused(f"checkpoint refused, never cosigned: {verdict.refusal}")
        if verdict.refusal is not None:
            raise Conflict(verdict.refusal)
        assert verdict.cosigned is not None
        return verdict.cosigned
