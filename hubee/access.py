"""Who may see what. Objects of another organization or démarche are "not found":
the hub never confirms that something it will not show exists.
"""

from __future__ import annotations

from hubee.errors import NotFound
from hubee.model import Case, Folder, Principal, Scope, Side, Status


def folder_side(principal: Principal, folder: Folder) -> Side:
    """The folder's operator (OSL) or the admin; anyone else gets :class:`NotFound`."""
    return owner_side(principal, folder.transmitter.id, folder.process_code, folder.id)


def owner_side(
    principal: Principal, transmitter_id: str, process_code: str, folder_id: str
) -> Side:
    """:func:`folder_side`, from the folder's operator and démarche alone."""
    if principal.is_admin:
        return Side.ADMIN
    if (
        principal.scope is Scope.OSL
        and principal.org.id == transmitter_id
        and principal.may_use(process_code)
    ):
        return Side.OSL
    raise NotFound(f"Folder is not found: {folder_id}")


def case_side(principal: Principal, case: Case) -> Side:
    """The side the caller acts on for ``case``: its recipient (SI), operator (OSL) or admin.

    A case is visible to its recipient only once delivered (its folder completed).
    """
    if principal.is_admin:
        return Side.ADMIN
    if principal.may_use(case.process_code):
        if principal.scope is Scope.OSL and principal.org.id == case.transmitter.id:
            return Side.OSL
        if (
            principal.scope is Scope.SI
            and principal.org.id == case.recipient.id
            and case.status is not Status.HUBEE_RECEIVED
        ):
            return Side.SI
    raise NotFound(f"Case is not found: {case.id}")
