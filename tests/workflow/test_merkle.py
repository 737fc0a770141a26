"""The Merkle tree: the peers' RFC 6962 vectors as they are, and proofs checked against RFC 9162 written out."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryTree,
    ProofError,
    completed_nodes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_from_leaves,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

# Copied byte for byte into the repository, so that a fresh clone tests itself: see tests/vectors/README.md.
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "rfc6962"
# The leaves of the RFC 6962 reference tree that the vectors' happy paths are drawn from.
REFERENCE_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    bytes(range(0x40, 0x44)),
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
REFERENCE_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


# RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 written out as recursion over leaf hashes: the oracle.


def _k(n):
    return 1 << ((n - 1).bit_length() - 1)


def mth(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _k(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m, leaves, whole):
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def leaves_of(size, salt=b""):
    return [leaf_hash(salt + i.to_bytes(4, "big")) for i in range(size)]


class CountingSource:
    def __init__(self, tree):
        self.tree, self.reads = tree, 0

    def node(self, level, index):
        self.reads += 1
        return self.tree.node(level, index)


def flip(value: bytes, bit: int) -> bytes:
    bit %= len(value) * 8
    return value[: bit // 8] + bytes([value[bit // 8] ^ (1 << bit % 8)]) + value[bit // 8 + 1 :]


# The peers' vectors.


def vector_files(kind):
    return [pytest.param(p, id=str(p.relative_to(VECTORS))) for p in sorted((VECTORS / kind).rglob("*.json"))]


def b64(value):
    return base64.b64decode(value)


def test_the_vectors_are_there():
    assert len(vector_files("inclusion")) >= 90 and len(vector_files("consistency")) >= 90


@pytest.mark.parametrize("file", vector_files("inclusion"))
def test_inclusion_vector(file):
    v = json.loads(file.read_text(encoding="utf-8"))
    args = (b64(v["leafHash"]), v["leafIdx"], v["treeSize"], [b64(p) for p in v["proof"] or []], b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(ProofError, match=r"\w"):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("file", vector_files("consistency"))
def test_consistency_vector(file):
    v = json.loads(file.read_text(encoding="utf-8"))
    args = (v["size1"], v["size2"], b64(v["root1"]), b64(v["root2"]), [b64(p) for p in v["proof"] or []])
    if v["wantErr"]:
        with pytest.raises(ProofError, match=r"\w"):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_our_proofs_are_the_vectors_happy_paths():
    """The generators give, byte for byte, the proofs another implementation published for the same tree."""
    tree = MemoryTree(leaf_hash(d) for d in REFERENCE_LEAVES)
    assert [root(n, tree).hex() for n in range(1, 9)] == REFERENCE_ROOTS
    checked = 0
    for file in sorted(VECTORS.rglob("happy-path.json")):
        v = json.loads(file.read_text(encoding="utf-8"))
        want = [b64(p) for p in v["proof"] or []]
        if "leafIdx" in v:
            assert b64(v["root"]) == root(v["treeSize"], tree)
            assert inclusion_proof(v["leafIdx"], v["treeSize"], tree) == want, file
        else:
            assert (b64(v["root1"]), b64(v["root2"])) == (root(v["size1"], tree), root(v["size2"], tree))
            assert consistency_proof(v["size1"], v["size2"], tree) == want, file
        checked += 1
    assert checked >= 10


# Hashing and roots.


def test_hashes_are_domain_separated():
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaves([]) == EMPTY_ROOT == root(0, MemoryTree()) == MemoryTree().root()


@given(st.integers(0, 300), st.binary(max_size=8))
def test_roots_agree(size, salt):
    leaves = leaves_of(size, salt)
    tree = MemoryTree(leaves)
    assert tree.size == size
    assert root_from_leaves(leaves) == mth(leaves) == root(size, tree) == tree.root()
    for n in range(size + 1):
        assert root(n, tree) == mth(leaves[:n])


def test_completed_nodes_are_every_complete_subtree_and_cheap():
    leaves = leaves_of(100)
    stored: dict[tuple[int, int], bytes] = {}
    reads = 0

    def get(level, index):
        nonlocal reads
        reads += 1
        return stored[level, index]

    for i, leaf in enumerate(leaves):
        new = completed_nodes(i, leaf, get)
        assert new[0] == (0, i, leaf)
        assert len(new) == 1 + (i ^ (i + 1)).bit_length() - 1  # one node per trailing one bit of i
        stored.update(((level, index), value) for level, index, value in new)
    assert reads < len(leaves)
    want = {(k, i): mth(leaves[i << k : (i + 1) << k]) for k in range(7) for i in range(len(leaves) >> k)}
    assert stored == want


@pytest.mark.parametrize("start, end", [(1, 3), (2, 5), (4, 3), (0, 0), (-1, 1), (6, 10)])
def test_subtree_hash_refuses_what_is_not_an_rfc_9162_subtree(start, end):
    with pytest.raises(ValueError):
        subtree_hash(start, end, MemoryTree(leaves_of(16)))


def test_subtree_hash_of_a_right_border():
    leaves = leaves_of(16)
    tree = MemoryTree(leaves)
    assert subtree_hash(8, 15, tree) == mth(leaves[8:15])
    assert subtree_hash(12, 16, tree) == mth(leaves[12:16])


def test_memory_tree_refuses_incomplete_and_negative_nodes():
    tree = MemoryTree(leaves_of(5))
    for level, index in [(0, 5), (1, 2), (3, 0), (-1, 0), (0, -1)]:
        with pytest.raises(LookupError):
            tree.node(level, index)


def test_bad_leaf_hashes_are_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        root_from_leaves([b"short"])
    with pytest.raises(ValueError, match="32 bytes"):
        MemoryTree().append(b"x" * 33)


# Proofs.


@pytest.mark.parametrize("index, size", [(0, 0), (3, 3), (-1, 2)])
def test_no_inclusion_proof_outside_the_tree(index, size):
    with pytest.raises(ValueError):
        inclusion_proof(index, size, MemoryTree(leaves_of(4)))


@pytest.mark.parametrize("old, new", [(0, 0), (0, 3), (3, 2), (-1, 2)])
def test_no_consistency_proof_for_impossible_sizes(old, new):
    with pytest.raises(ValueError):
        consistency_proof(old, new, MemoryTree(leaves_of(4)))


def test_consistency_between_equal_sizes():
    leaves = leaves_of(5)
    tree = MemoryTree(leaves)
    assert consistency_proof(5, 5, tree) == []
    verify_consistency(5, 5, mth(leaves), mth(leaves), [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.binary(max_size=8), st.data())
def test_every_inclusion_proof_verifies_and_tampering_fails(size, salt, data):
    leaves = leaves_of(size, salt)
    tree = MemoryTree(leaves)
    head = root_from_leaves(leaves)
    for index in range(size):
        proof = inclusion_proof(index, size, tree)
        assert proof == path(index, leaves)
        verify_inclusion(leaves[index], index, size, proof, head)
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(index, size, tree)
    bit = data.draw(st.integers(0, 255), label="bit")
    with pytest.raises(ProofError):
        verify_inclusion(flip(leaves[index], bit), index, size, proof, head)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], index, size, proof, flip(head, bit))
    with pytest.raises(ProofError, match="more than"):
        verify_inclusion(leaves[index], index, size, [*proof, head], head)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1), label="at")
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]], head)
        with pytest.raises(ProofError, match="needs"):
            verify_inclusion(leaves[index], index, size, proof[:-1], head)
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other index")
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], other, size, proof, head)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.binary(max_size=8), st.data())
def test_consistency_proofs_verify_and_tampering_fails(size, salt, data):
    leaves = leaves_of(size, salt)
    tree = MemoryTree(leaves)
    old = data.draw(st.integers(1, size), label="old size")
    old_root, new_root = root_from_leaves(leaves[:old]), root_from_leaves(leaves)
    proof = consistency_proof(old, size, tree)
    assert proof == subproof(old, leaves, True)
    verify_consistency(old, size, old_root, new_root, proof)
    if old == size:
        return
    bit = data.draw(st.integers(0, 255), label="bit")
    at = data.draw(st.integers(0, len(proof) - 1), label="at")
    with pytest.raises(ProofError, match="does not lead"):
        verify_consistency(old, size, old_root, new_root, [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]])
    with pytest.raises(ProofError, match=r"too short|is empty"):
        verify_consistency(old, size, old_root, new_root, proof[:-1])
    with pytest.raises(ProofError, match="left over"):
        verify_consistency(old, size, old_root, new_root, [*proof, new_root])
    with pytest.raises(ProofError):
        verify_consistency(old, size, flip(old_root, bit), new_root, proof)
    with pytest.raises(ProofError):
        verify_consistency(old, size, old_root, flip(new_root, bit), proof)
    with pytest.raises(ProofError):
        verify_consistency(old, size, new_root, old_root, proof)


@pytest.mark.parametrize("size", [1, 2, 3, 1000, 1023, 1024, 1025, 65535])
def test_proofs_read_logarithmically_many_nodes(size):
    source = CountingSource(MemoryTree(leaves_of(size)))
    bound = 2 * size.bit_length() + 1
    for index in {0, size // 3, size // 2, size - 1}:
        source.reads = 0
        inclusion_proof(index, size, source)
        assert source.reads <= bound
    for old in {1, size // 3 or 1, size - 1 or 1, size}:
        source.reads = 0
        consistency_proof(old, size, source)
        assert source.reads <= bound
    source.reads = 0
    root(size, source)
    assert source.reads <= size.bit_length()


def test_the_frontier_gives_the_same_nodes_and_roots_as_the_whole_tree():
    frontier, tree = Frontier(), MemoryTree()
    assert frontier.root() == root_from_leaves([])
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(300)]
    for i, leaf in enumerate(leaves):
        nodes = frontier.append(leaf)
        assert nodes == completed_nodes(i, leaf, tree.node)
        tree.append(leaf)
        assert frontier.size == i + 1
        assert frontier.root() == root_from_leaves(leaves[: i + 1])
