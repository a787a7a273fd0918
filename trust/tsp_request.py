"""RFC 3161 §2.4.1 time-stamp requests, and what their answers must echo.

Not checked here: anything about a response (see :mod:`trust.tsp_verify`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat import asn1

from trust.tsp_asn1 import (
    DIGEST_SIZES,
    HASHES,
    SHA256,
    TSP_VERSION,
    AlgorithmIdentifier,
    MessageImprint,
    TimeStampReq,
)

# A 64-bit random nonce, as RFC 3161 §2.4.1 suggests ("a large random number").
NONCE_BITS = 64


@dataclass(frozen=True)
class TimestampRequest:
    """A TimeStampReq as sent (``der``), and what its answer must echo."""

    der: bytes
    hash_oid: str
    digest: bytes
    nonce: int | None
    policy: str | None
    cert_req: bool

    @classmethod
    def for_digest(
        cls,
        message_digest: bytes,
        *,
        hash_oid: str = SHA256,
        nonce: int | None = None,
        with_nonce: bool = True,
        policy: str | None = None,
        cert_req: bool = True,
    ) -> TimestampRequest:
        """A v1 request over ``message_digest``; a fresh 64-bit nonce unless told otherwise."""
        if hash_oid not in HASHES:
            raise ValueError(f"unsupported hash algorithm {hash_oid}")
        if len(message_digest) != DIGEST_SIZES[hash_oid]:
            raise ValueError(f"a {HASHES[hash_oid]} digest is {DIGEST_SIZES[hash_oid]} bytes")
        if nonce is None and with_nonce:
            nonce = secrets.randbits(NONCE_BITS)
        req = TimeStampReq(
            version=TSP_VERSION,
            message_imprint=MessageImprint(
                hash_algorithm=AlgorithmIdentifier(
                    algorithm=x509.ObjectIdentifier(hash_oid), parameters=None
                ),
                hashed_message=message_digest,
            ),
            req_policy=None if policy is None else x509.ObjectIdentifier(policy),
            nonce=nonce,
            cert_req=cert_req,
            extensions=None,
        )
        return cls(asn1.encode_der(req), hash_oid, message_digest, nonce, policy, cert_req)

    @classmethod
    def for_data(
        cls,
        data: bytes,
        *,
        nonce: int | None = None,
        with_nonce: bool = True,
        policy: str | None = None,
        cert_req: bool = True,
    ) -> TimestampRequest:
        """A v1 request over SHA-256(``data``)."""
        return cls.for_digest(
            hashlib.sha256(data).digest(),
            nonce=nonce,
            with_nonce=with_nonce,
            policy=policy,
            cert_req=cert_req,
        )


__all__ = ["NONCE_BITS", "TimestampRequest"]
