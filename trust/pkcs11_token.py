"""PKCS#11 modules and token logins, shared across one process.

python-pkcs11 initialises a module with ``C_Initialize(NULL)``, which tells the
module the application is single-threaded (PKCS#11 v2.40 §5.4, C_Initialize). So
every call into one module from Sceau holds that module's lock
(:attr:`Pkcs11Module.lock`). Login state belongs to the application and the token,
not to a session (PKCS#11 v2.40 §5.6), so a second ``C_Login`` fails: every user of
one token shares one logged-in session (:class:`TokenLogin`), counted by
reference and logged out when the last user releases it.

The PIN is never logged, kept, or put in an error message. Only a salted digest
is kept, to check that a second user of an already logged-in token gives the same
PIN. Not supported: PIN pads (protected authentication paths), and logging in as
the security officer.

Known limit: when ``C_Login`` fails, python-pkcs11 leaves the session it opened
for it open until the module is finalised.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import pkcs11

from trust.errors import KeyMaterialError

_log = logging.getLogger(__name__)

SOFTHSM2_MODULE = "/usr/lib/softhsm/libsofthsm2.so"

_SALT = secrets.token_bytes(32)


def _pin_digest(pin: str) -> bytes:
    return hashlib.sha256(_SALT + pin.encode("utf-8")).digest()


@dataclass(eq=False)
class TokenLogin:
    """One logged-in session on one token, shared by every user of that token.

    Get one with :func:`log_in`; give it back with :func:`release`. Hold
    ``module.lock`` while using ``session``.
    """

    module: Pkcs11Module
    slot_id: int
    token_label: str
    session: pkcs11.Session
    pin_digest: bytes = field(repr=False)
    users: int = 0


@dataclass(eq=False)
class Pkcs11Module:
    """A loaded PKCS#11 library, its lock, and the tokens logged in through it."""

    path: str
    lib: Any  # pkcs11._pkcs11.lib: a Cython class, typed only through a stub
    lock: threading.RLock = field(default_factory=threading.RLock)
    logins: dict[int, TokenLogin] = field(default_factory=dict)

    @property
    def is_softhsm(self) -> bool:
        return "softhsm" in str(self.lib.manufacturer_id).lower()


_REGISTRY_LOCK = threading.Lock()
_MODULES: dict[str, Pkcs11Module] = {}


def _load_module(module_path: str | os.PathLike[str]) -> Pkcs11Module:
    """The module's record, loading the library on first use. Hold ``_REGISTRY_LOCK``."""
    # The real path: two spellings of one library would otherwise be initialised twice.
    path = os.path.realpath(module_path)
    module = _MODULES.get(path)
    if module is not None:
        return module
    if not os.path.isfile(path):
        raise KeyMaterialError(
            f"PKCS#11 module {module_path} does not exist",
            hint="Install the HSM's PKCS#11 library, or give its path; for SoftHSM2: "
            f"apt-get install softhsm2 (module {SOFTHSM2_MODULE}).",
        )
    try:
        lib = pkcs11.lib(path)
    except pkcs11.PKCS11Error as exc:
        raise KeyMaterialError(
            f"cannot load PKCS#11 module {module_path}: {exc or type(exc).__name__}",
            hint="Give the path of the HSM vendor's PKCS#11 library (a .so file). "
            "For SoftHSM2, check that SOFTHSM2_CONF names a readable configuration "
            "whose directories.tokendir exists.",
        ) from exc
    module = Pkcs11Module(path, lib)
    _MODULES[path] = module
    return module


def unload_module(module_path: str | os.PathLike[str]) -> None:
    """Finalise a PKCS#11 module no signer uses; the next open reads its configuration again.

    For SoftHSM2 that means ``SOFTHSM2_CONF`` and the tokens in its token directory:
    SoftHSM2 sees tokens created by ``softhsm2-util`` only when it is initialised.
    """
    path = os.path.realpath(module_path)
    with _REGISTRY_LOCK:
        module = _MODULES.pop(path, None)
        if module is not None and module.logins:
            _MODULES[path] = module
            raise KeyMaterialError(
                f"PKCS#11 module {module_path} is still in use by open signers",
                hint="Close every Pkcs11Signer on it first.",
            )
        pkcs11.unload(path)


def _find_token(module: Pkcs11Module, token_label: str | None, slot_id: int | None) -> Any:
    if token_label is None and slot_id is None:
        raise KeyMaterialError(
            "no PKCS#11 token was named", hint="Give the token's label (or its slot id)."
        )
    try:
        if slot_id is not None:
            slots = {s.slot_id: s for s in module.lib.get_slots(token_present=True)}
            if slot_id not in slots:
                raise pkcs11.NoSuchToken(slot_id)
            token = slots[slot_id].get_token()
            if token_label is not None and token.label != token_label:
                raise pkcs11.NoSuchToken(slot_id)
            return token
        return module.lib.get_token(token_label=token_label)
    except pkcs11.NoSuchToken:
        labels = sorted(repr(t.label) for t in module.lib.get_tokens() if t.label)
        wanted = f"labelled '{token_label}'" if token_label is not None else ""
        wanted += f" in slot {slot_id}" if slot_id is not None else ""
        hint = (
            f"Create it: softhsm2-util --init-token --free --label {token_label or 'LABEL'} "
            "--so-pin SO-PIN --pin PIN (and check SOFTHSM2_CONF's directories.tokendir)."
            if module.is_softhsm
            else "Check the token's label with the HSM's tools (pkcs11-tool --list-slots)."
        )
        raise KeyMaterialError(
            f"no PKCS#11 token {wanted.strip()} in {module.path} "
            f"(tokens there: {', '.join(labels) or 'none'})",
            hint=hint,
        ) from None
    except pkcs11.MultipleTokensReturned:
        raise KeyMaterialError(
            f"several PKCS#11 tokens are labelled '{token_label}'",
            hint="Name the token by slot id as well (pkcs11: URI attribute slot-id).",
        ) from None


def _log_in(module: Pkcs11Module, token: Any, pin: str) -> TokenLogin:
    """Log in to ``token``, or join the session already logged in. Hold ``module.lock``."""
    slot_id = int(token.slot.slot_id)
    shared = module.logins.get(slot_id)
    if shared is not None:
        if not hmac.compare_digest(shared.pin_digest, _pin_digest(pin)):
            raise KeyMaterialError(
                f"the PIN differs from the one token '{shared.token_label}' is logged in with",
                hint="Give every signer on one token the same user PIN.",
            )
        shared.users += 1
        return shared
    label = str(token.label)
    try:
        session = token.open(user_pin=pin)
    except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange):
        raise KeyMaterialError(
            f"token '{label}' rejected the PIN",
            hint="Check the user PIN (not the SO PIN). Too many wrong PINs may lock the token.",
        ) from None
    except (pkcs11.PinLocked, pkcs11.PinExpired):
        raise KeyMaterialError(
            f"the user PIN of token '{label}' is locked or expired",
            hint="Have the security officer reset it (softhsm2-util and most HSM tools can).",
        ) from None
    except pkcs11.UserPinNotInitialized:
        raise KeyMaterialError(
            f"token '{label}' has no user PIN yet",
            hint="Initialise the token with a user PIN (softhsm2-util --init-token ... --pin PIN).",
        ) from None
    except pkcs11.PKCS11Error as exc:
        raise KeyMaterialError(
            f"cannot log in to token '{label}': {type(exc).__name__}",
            hint="Check that no other program holds the token, then retry.",
        ) from None
    shared = TokenLogin(module, slot_id, label, session, _pin_digest(pin), users=1)
    module.logins[slot_id] = shared
    return shared


def release(shared: TokenLogin) -> None:
    """Drop one user of ``shared``; the last one logs out. Hold ``shared.module.lock``."""
    shared.users -= 1
    if shared.users > 0:
        return
    shared.module.logins.pop(shared.slot_id, None)
    try:
        shared.session.close()
    except pkcs11.PKCS11Error as exc:  # the token may be gone; nothing left to undo
        _log.warning("closing the session on token '%s' failed: %r", shared.token_label, exc)


def log_in(
    module_path: str | os.PathLike[str],
    *,
    token_label: str | None,
    slot_id: int | None,
    pin: str,
) -> TokenLogin:
    """Log in to the token named by label or slot id (or both), or join its login."""
    # Under the registry lock, so that unload_module cannot unload the module meanwhile.
    with _REGISTRY_LOCK:
        module = _load_module(module_path)
        with module.lock:
            token = _find_token(module, token_label, slot_id)
            return _log_in(module, token, pin)


__all__ = ["SOFTHSM2_MODULE", "Pkcs11Module", "TokenLogin", "log_in", "release", "unload_module"]
