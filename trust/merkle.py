"""RFC 9162 Merkle tree maths: tree hashes, inclusion and consistency proofs.

Pure functions over a :class:`HashSource`, anything that can give the hash of
a complete subtree (``2**level`` leaves starting at leaf ``index * 2**level``).
Proofs then cost ``O(log n)`` subtree look-ups: the journal answers them from
stored nodes, tests and bundles from an in-memory :class:`MemoryTree`.

The hash is SHA-256, as in RFC 6962 and C2SP tlog-checkpoint. Sizes and
indexes are plain non-negative ints; nothing here touches storage or keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

HASH_SIZE = 32  # SHA-256 output, RFC 9162 §2.1.1 with SHA-256 as in RFC 6962
LEAF_PREFIX = b"\x00"  # RFC 9162 §2.1.1: MTH({d(0)}) = HASH(0x00 || d(0))
NODE_PREFIX = b"\x01"  # RFC 9162 §2.1.1: HASH(0x01 || MTH(left) || MTH(right))
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 §2.1.1: MTH({}) = HASH()

_sha256 = hashlib.sha256


def leaf_hash(entry: bytes) -> bytes:
    """The RFC 9162 leaf hash of one entry: SHA-256(0x00 ‖ entry)."""
    return _sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right)."""
    return _sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n > 1``), RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


class HashSource(Protocol):
    """Something that knows the hash of every complete subtree of a tree."""

    def subtree_hash(self, level: int, index: int) -> bytes:
        """MTH of leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 is a leaf hash."""
        ...


def complete_subtree_hash(hashes: Sequence[bytes]) -> bytes:
    """Fold a power-of-two run of sibling hashes (leaf or node hashes) into their root."""
    level = list(hashes)
    if not level or len(level) & (len(level) - 1):
        raise ValueError("need a non-empty power-of-two number of hashes")
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def range_hash(source: HashSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range that is a node of the RFC 9162 tree.

    Such a range starts at a multiple of a power of two at least as large as
    the range, so it splits into aligned complete subtrees, largest first,
    whose hashes fold right to left (RFC 9162 §2.1.1's recursion, unrolled).
    Costs one :meth:`HashSource.subtree_hash` call per set bit of the length.
    """
    size = end - start
    if size <= 0:
        raise ValueError(f"empty range [{start}, {end})")
    if start & ((1 << (size - 1).bit_length()) - 1):
        raise ValueError(f"[{start}, {end}) is not a node of the tree")
    parts = []
    pos = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            parts.append(source.subtree_hash(level, pos >> level))
            pos += 1 << level
    result = parts.pop()
    while parts:
        result = node_hash(parts.pop(), result)
    return result


def root_hash(source: HashSource, size: int) -> bytes:
    """MTH(D[0:size]), the root of the tree of the first ``size`` leaves."""
    if size < 0:
        raise ValueError("negative tree size")
    return EMPTY_ROOT if size == 0 else range_hash(source, 0, size)


@dataclass(frozen=True)
class InclusionProof:
    """An RFC 9162 §2.1.3 audit path: leaf ``index`` is in the tree of ``tree_size`` leaves."""

    index: int
    tree_size: int
    path: tuple[bytes, ...]


@dataclass(frozen=True)
class ConsistencyProof:
    """An RFC 9162 §2.1.4 proof that tree ``first_size`` is a prefix of tree ``second_size``."""

    first_size: int
    second_size: int
    path: tuple[bytes, ...]


def inclusion_proof(source: HashSource, index: int, tree_size: int) -> InclusionProof:
    """PATH(index, D[tree_size]) per RFC 9162 §2.1.3.1, nearest sibling first."""
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf {index} is not in a tree of size {tree_size}")
    path = []
    start, end = 0, tree_size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(range_hash(source, start + k, end))
            end = start + k
        else:
            path.append(range_hash(source, start, start + k))
            start += k
    path.reverse()
    return InclusionProof(index, tree_size, tuple(path))


def consistency_proof(source: HashSource, first_size: int, second_size: int) -> ConsistencyProof:
    """PROOF(first_size, D[second_size]) per RFC 9162 §2.1.4.1.

    The proof is empty when ``first_size`` is 0 or equals ``second_size``.
    """
    if not 0 <= first_size <= second_size:
        raise ValueError(f"no consistency proof from size {first_size} to {second_size}")
    path: list[bytes] = []
    if first_size in (0, second_size):
        return ConsistencyProof(first_size, second_size, ())
    start, end, whole = 0, second_size, True
    while first_size != end:
        k = _split(end - start)
        if first_size <= start + k:
            path.append(range_hash(source, start + k, end))
            end = start + k
        else:
            path.append(range_hash(source, start, start + k))
            start += k
            whole = False
    if not whole:
        path.append(range_hash(source, start, end))
    path.reverse()
    return ConsistencyProof(first_size, second_size, tuple(path))


def _hashes_ok(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(proof: InclusionProof, *, leaf: bytes, root: bytes) -> bool:
    """Whether ``proof`` shows leaf hash ``leaf`` at ``proof.index`` under ``root`` (§2.1.3.2).

    ``leaf`` is the leaf *hash* (see :func:`leaf_hash`). Nothing is said about
    who signed ``root``: check the checkpoint that carries it separately.
    """
    if not 0 <= proof.index < proof.tree_size or not _hashes_ok(leaf, root, *proof.path):
        return False
    fn, sn, r = proof.index, proof.tree_size - 1, leaf
    for p in proof.path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(proof: ConsistencyProof, *, first_root: bytes, second_root: bytes) -> bool:
    """Whether ``proof`` shows ``first_root`` is a prefix tree of ``second_root`` (§2.1.4.2).

    Stricter than RFC 9162 at the edges: from size 0 the first root must be
    the empty-tree hash, and between equal sizes the roots must be equal; both
    with an empty proof.
    """
    m, n, path = proof.first_size, proof.second_size, proof.path
    if not 0 <= m <= n or not _hashes_ok(first_root, second_root, *path):
        return False
    if m == 0:
        return not path and first_root == EMPTY_ROOT
    if m == n:
        return not path and first_root == second_root
    if not path:
        return False
    if m & (m - 1) == 0:
        path = (first_root, *path)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


@dataclass
class Frontier:
    """The roots of the complete subtrees of a growing tree, largest first.

    Appending a leaf returns the interior nodes it completes, so a store can
    persist them; the root of the whole tree is one fold of the frontier.
    Mutable: not a value.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.hashes) != self.size.bit_count():
            raise ValueError("a frontier holds one hash per set bit of its size")

    @classmethod
    def of(cls, source: HashSource, size: int) -> Frontier:
        """The frontier of the first ``size`` leaves of ``source``: O(log size) look-ups."""
        hashes, pos = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                hashes.append(source.subtree_hash(level, pos >> level))
                pos += 1 << level
        return cls(size, hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add leaf hash ``leaf``; return the ``(level, index, hash)`` nodes it completes."""
        completed = []
        h, n, level = leaf, self.size, 0
        while n & 1:
            h = node_hash(self.hashes.pop(), h)
            level += 1
            n >>= 1
            completed.append((level, n, h))
        self.hashes.append(h)
        self.size += 1
        return completed

    def extend(self, leaves: Iterable[bytes], *, every: int = 1) -> list[tuple[int, int, bytes]]:
        """:meth:`append` each leaf; return the completed nodes at levels divisible by ``every``."""
        kept = []
        hashes, size, sha = self.hashes, self.size, _sha256
        for h in leaves:
            n, level = size, 0
            while n & 1:
                h = sha(NODE_PREFIX + hashes.pop() + h).digest()
                level += 1
                n >>= 1
                if not level % every:
                    kept.append((level, n, h))
            hashes.append(h)
            size += 1
        self.size = size
        return kept

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        result = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            result = node_hash(h, result)
        return result

    def copy(self) -> Frontier:
        return Frontier(self.size, list(self.hashes))


class MemoryTree:
    """An in-memory :class:`HashSource` over leaf hashes, with every node cached."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for leaf in leaves:
            self.append_hash(leaf)

    @classmethod
    def of_entries(cls, entries: Iterable[bytes]) -> MemoryTree:
        return cls(leaf_hash(e) for e in entries)

    def append_hash(self, leaf: bytes) -> None:
        self._levels[0].append(leaf)
        level = 0
        while len(self._levels[level]) % 2 == 0:
            below = self._levels[level]
            if level + 1 == len(self._levels):
                self._levels.append([])
            self._levels[level + 1].append(node_hash(below[-2], below[-1]))
            level += 1

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def subtree_hash(self, level: int, index: int) -> bytes:
        if level >= len(self._levels) or not 0 <= index < len(self._levels[level]):
            raise ValueError(f"no complete subtree at level {level}, index {index}")
        return self._levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return root_hash(self, self.size if size is None else size)


def tree_hash(entries: Sequence[bytes]) -> bytes:
    """MTH of a list of entries, straight from RFC 9162 §2.1.1's recursive definition."""
    n = len(entries)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hash(entries[0])
    k = _split(n)
    return node_hash(tree_hash(entries[:k]), tree_hash(entries[k:]))
