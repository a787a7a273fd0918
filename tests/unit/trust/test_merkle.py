"""RFC 9162 Merkle maths against RFC 6962 vectors, the RFC's own definitions, and mutations."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trust.merkle import (
    EMPTY_ROOT,
    ConsistencyProof,
    Frontier,
    InclusionProof,
    MemoryTree,
    complete_subtree_hash,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    range_hash,
    root_hash,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads(
    (Path(__file__).parents[2] / "vectors" / "merkle_rfc6962.json").read_text("utf-8")
)
LEAVES = [bytes.fromhex(h) for h in VECTORS["leaves_hex"]]
ROOTS = [bytes.fromhex(h) for h in VECTORS["roots_by_size_hex"]]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def _path(hexes: list[str]) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(h) for h in hexes)


def test_roots_of_every_prefix_match_the_vectors() -> None:
    tree = MemoryTree.of_entries(LEAVES)
    for size, root in enumerate(ROOTS):
        assert tree_hash(LEAVES[:size]) == root
        assert tree.root(size) == root
    assert ROOTS[0] == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_every_complete_subtree_matches_the_vectors() -> None:
    tree = MemoryTree.of_entries(LEAVES)
    for level, hashes in enumerate(VECTORS["node_hashes_by_level_hex"]):
        for index, expected in enumerate(hashes):
            assert tree.subtree_hash(level, index).hex() == expected


@pytest.mark.parametrize("vector", VECTORS["inclusion_proofs"], ids=str)
def test_inclusion_proofs_match_the_vectors(vector: dict[str, object]) -> None:
    index, size = int(str(vector["index"])), int(str(vector["tree_size"]))
    expected = _path(vector["path_hex"])  # type: ignore[arg-type]
    proof = inclusion_proof(MemoryTree.of_entries(LEAVES), index, size)
    assert proof == InclusionProof(index, size, expected)
    assert verify_inclusion(proof, leaf=leaf_hash(LEAVES[index]), root=ROOTS[size])


@pytest.mark.parametrize("vector", VECTORS["consistency_proofs"], ids=str)
def test_consistency_proofs_match_the_vectors(vector: dict[str, object]) -> None:
    m, n = int(str(vector["first_size"])), int(str(vector["second_size"]))
    expected = _path(vector["path_hex"])  # type: ignore[arg-type]
    proof = consistency_proof(MemoryTree.of_entries(LEAVES), m, n)
    assert proof == ConsistencyProof(m, n, expected)
    assert verify_consistency(proof, first_root=ROOTS[m], second_root=ROOTS[n])


def _flip(path: tuple[bytes, ...], i: int, bit: int) -> tuple[bytes, ...]:
    changed = bytes([path[i][0] ^ bit]) + path[i][1:]
    return (*path[:i], changed, *path[i + 1 :])


def _inclusion_probes(proof: InclusionProof) -> list[InclusionProof]:
    """The corruptions of transparency-dev/merkle's corruptInclusionProof, one per probe."""
    i, n, path = proof.index, proof.tree_size, proof.path
    probes = [
        InclusionProof(i - 1, n, path),
        InclusionProof(i + 1, n, path),
        InclusionProof(i ^ 2, n, path),
        InclusionProof(i, n * 2, path),
        InclusionProof(i, n // 2, path),
        InclusionProof(i, n, (*path, b"")),
        InclusionProof(i, n, (b"", *path)),
        InclusionProof(i, n, (*path, SOME_HASH)),
        InclusionProof(i, n, (SOME_HASH, *path)),
    ]
    probes += [InclusionProof(i, n, _flip(path, k, 8)) for k in range(len(path))]
    if path:
        probes.append(InclusionProof(i, n, path[:-1]))
    if len(path) > 1:
        probes.append(InclusionProof(i, n, (path[0], SOME_HASH, *path[1:])))
    return probes


@pytest.mark.parametrize("vector", VECTORS["inclusion_proofs"], ids=str)
def test_corrupted_inclusion_proofs_fail(vector: dict[str, object]) -> None:
    index, size = int(str(vector["index"])), int(str(vector["tree_size"]))
    proof = InclusionProof(index, size, _path(vector["path_hex"]))  # type: ignore[arg-type]
    leaf, root = leaf_hash(LEAVES[index]), ROOTS[size]
    for probe in _inclusion_probes(proof):
        assert not verify_inclusion(probe, leaf=leaf, root=root), probe
    assert not verify_inclusion(proof, leaf=leaf_hash(b"WrongLeaf"), root=root)
    assert not verify_inclusion(proof, leaf=leaf, root=EMPTY_ROOT)
    assert not verify_inclusion(proof, leaf=leaf, root=SOME_HASH)
    assert not verify_inclusion(proof, leaf=leaf[:31], root=root)


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS["consistency_proofs"] if v["path_hex"]], ids=str
)
def test_corrupted_consistency_proofs_fail(vector: dict[str, object]) -> None:
    m, n = int(str(vector["first_size"])), int(str(vector["second_size"]))
    path = _path(vector["path_hex"])  # type: ignore[arg-type]
    r1, r2 = ROOTS[m], ROOTS[n]
    probes = [
        (ConsistencyProof(m - 1, n, path), r1, r2),
        (ConsistencyProof(m + 1, n, path), r1, r2),
        (ConsistencyProof(m ^ 2, n, path), r1, r2),
        (ConsistencyProof(m, n * 2, path), r1, r2),
        (ConsistencyProof(m, n // 2, path), r1, r2),
        (ConsistencyProof(m, n, path), SOME_HASH, r2),
        (ConsistencyProof(m, n, path), r1, SOME_HASH),
        (ConsistencyProof(m, n, path), r2, r1),
        (ConsistencyProof(m, n, ()), r1, r2),
        (ConsistencyProof(m, n, (*path, b"")), r1, r2),
        (ConsistencyProof(m, n, (*path, r1)), r1, r2),
        (ConsistencyProof(m, n, (*path, r2)), r1, r2),
        (ConsistencyProof(m, n, (b"", *path)), r1, r2),
        (ConsistencyProof(m, n, (r1, *path)), r1, r2),
        (ConsistencyProof(m, n, (r2, *path)), r1, r2),
        (ConsistencyProof(m, n, (path[0], *path)), r1, r2),
        (ConsistencyProof(m, n, path[:-1]), r1, r2),
    ]
    probes += [(ConsistencyProof(m, n, _flip(path, k, 16)), r1, r2) for k in range(len(path))]
    for proof, first, second in probes:
        assert not verify_consistency(proof, first_root=first, second_root=second), proof


def test_consistency_edge_sizes() -> None:
    root = ROOTS[3]
    assert verify_consistency(
        ConsistencyProof(0, 0, ()), first_root=EMPTY_ROOT, second_root=EMPTY_ROOT
    )
    assert verify_consistency(ConsistencyProof(0, 3, ()), first_root=EMPTY_ROOT, second_root=root)
    assert not verify_consistency(ConsistencyProof(0, 3, ()), first_root=root, second_root=root)
    assert verify_consistency(ConsistencyProof(3, 3, ()), first_root=root, second_root=root)
    assert not verify_consistency(ConsistencyProof(3, 3, ()), first_root=root, second_root=ROOTS[4])
    assert not verify_consistency(
        ConsistencyProof(3, 3, (EMPTY_ROOT,)), first_root=root, second_root=root
    )
    assert not verify_consistency(ConsistencyProof(4, 3, ()), first_root=root, second_root=root)
    assert not verify_consistency(
        ConsistencyProof(1, 2, ()), first_root=ROOTS[1], second_root=ROOTS[2]
    )


def test_inclusion_edge_cases() -> None:
    leaf = leaf_hash(b"data")
    assert verify_inclusion(InclusionProof(0, 1, ()), leaf=leaf, root=leaf)
    assert not verify_inclusion(InclusionProof(0, 0, ()), leaf=leaf, root=leaf)
    assert not verify_inclusion(InclusionProof(1, 1, ()), leaf=leaf, root=leaf)
    assert not verify_inclusion(InclusionProof(-1, 1, ()), leaf=leaf, root=leaf)
    assert not verify_inclusion(InclusionProof(0, 1, ()), leaf=b"", root=b"")


def test_proof_builders_refuse_impossible_requests() -> None:
    tree = MemoryTree.of_entries(LEAVES)
    for index, size in ((0, 0), (3, 3), (-1, 4), (0, 9)):
        with pytest.raises(ValueError):
            inclusion_proof(tree, index, size)
    with pytest.raises(ValueError):
        consistency_proof(tree, 5, 4)
    with pytest.raises(ValueError):
        range_hash(tree, 1, 4)  # three leaves starting at 1: not a node of any tree
    with pytest.raises(ValueError):
        range_hash(tree, 2, 2)
    with pytest.raises(ValueError):
        complete_subtree_hash([EMPTY_ROOT] * 3)
    with pytest.raises(ValueError):
        tree.subtree_hash(3, 1)


def test_frontier_reports_completed_nodes_and_roots() -> None:
    tree = MemoryTree.of_entries(LEAVES)
    frontier, completed = Frontier(), []
    for size, entry in enumerate(LEAVES, start=1):
        completed += frontier.append(leaf_hash(entry))
        assert frontier.root() == ROOTS[size]
        assert Frontier.of(tree, size) == frontier
    assert completed == [
        (level, index, tree.subtree_hash(level, index))
        for level, index in [(1, 0), (1, 1), (2, 0), (1, 2), (1, 3), (2, 1), (3, 0)]
    ]
    other = Frontier()
    assert other.extend(map(leaf_hash, LEAVES), every=2) == [c for c in completed if c[0] == 2]
    assert other == frontier
    with pytest.raises(ValueError):
        Frontier(3, [EMPTY_ROOT])


class _CountingSource:
    """A huge synthetic tree: subtree hashes are made up, calls are counted."""

    def __init__(self) -> None:
        self.calls = 0

    def subtree_hash(self, level: int, index: int) -> bytes:
        self.calls += 1
        if level == 0:
            return leaf_hash(index.to_bytes(8, "big"))
        left = self.subtree_hash(level - 1, 2 * index)
        return node_hash(left, self.subtree_hash(level - 1, 2 * index + 1))


class _Synthetic:
    """Complete-subtree hashes defined top-down so any subtree costs one call."""

    def __init__(self) -> None:
        self.calls = 0

    def subtree_hash(self, level: int, index: int) -> bytes:
        self.calls += 1
        return hashlib.sha256(b"%d/%d" % (level, index)).digest()


def test_proofs_on_a_million_leaves_cost_logarithmic_lookups() -> None:
    source = _Synthetic()
    n = 1_000_000
    proof = inclusion_proof(source, 765_432, n)
    assert len(proof.path) == 20
    assert source.calls <= 2 * n.bit_length()
    source.calls = 0
    consistency = consistency_proof(source, 999_999, n)
    assert source.calls <= 3 * n.bit_length()
    assert len(consistency.path) <= 2 * n.bit_length()


sizes = st.integers(min_value=1, max_value=200)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=sizes)
def test_every_inclusion_proof_verifies_and_no_mutation_does(data: st.DataObject, n: int) -> None:
    entries = [b"entry %d" % i for i in range(n)]
    tree = MemoryTree.of_entries(entries)
    root = tree_hash(entries)
    assert tree.root() == root
    for i in range(n):
        proof = inclusion_proof(tree, i, n)
        assert verify_inclusion(proof, leaf=leaf_hash(entries[i]), root=root)
    i = data.draw(st.integers(0, n - 1))
    proof = inclusion_proof(tree, i, n)
    assert not verify_inclusion(proof, leaf=leaf_hash(entries[i] + b"!"), root=root)
    if proof.path:
        k = data.draw(st.integers(0, len(proof.path) - 1))
        bit = data.draw(st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128]))
        bad = replace(proof, path=_flip(proof.path, k, bit))
        assert not verify_inclusion(bad, leaf=leaf_hash(entries[i]), root=root)
    if n > 1:
        other = data.draw(st.integers(0, n - 1).filter(lambda j: j != i))
        moved = replace(proof, index=other)
        assert not verify_inclusion(moved, leaf=leaf_hash(entries[i]), root=root)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=sizes)
def test_every_consistency_proof_verifies_and_no_mutation_does(data: st.DataObject, n: int) -> None:
    entries = [b"e%d" % i for i in range(n)]
    tree = MemoryTree.of_entries(entries)
    roots = [tree_hash(entries[:m]) for m in range(n + 1)]
    for m in range(n + 1):
        proof = consistency_proof(tree, m, n)
        assert verify_consistency(proof, first_root=roots[m], second_root=roots[n])
    m = data.draw(st.integers(1, n))
    proof = consistency_proof(tree, m, n)
    forged = tree_hash([*entries[: m - 1], b"forged"])
    assert not verify_consistency(proof, first_root=forged, second_root=roots[n])
    if proof.path:
        k = data.draw(st.integers(0, len(proof.path) - 1))
        bad = replace(proof, path=_flip(proof.path, k, 1))
        assert not verify_consistency(bad, first_root=roots[m], second_root=roots[n])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 300))
def test_root_hash_over_any_source_is_the_rfc_definition(n: int) -> None:
    entries = [bytes([i % 256]) * (i % 7) for i in range(n)]
    assert root_hash(MemoryTree.of_entries(entries), n) == tree_hash(entries)
    assert root_hash(_CountingSource(), n) == tree_hash([i.to_bytes(8, "big") for i in range(n)])
