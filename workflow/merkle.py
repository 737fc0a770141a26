"""The log's Merkle tree in RFC 9162 hashing: roots, inclusion and consistency proofs, and their verifiers.

Pure: standard library only, no database and no clock. Proofs are built from the hashes of *complete*
subtrees, node (level k, index i) covering leaves [i·2^k, (i+1)·2^k), read through a `NodeSource`; the
database keeps those nodes as entries are appended (`completed_nodes`), and `MemoryTree` keeps them in
lists for tests and the standalone verifier. Every proof costs O(log n) node reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from workflow.errors import ProofError
from workflow.log import leaf_hash

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "MemoryTree",
    "NodeSource",
    "completed_nodes",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_leaves",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 §2.1.1: MTH({}) = HASH()


class NodeSource(Protocol):
    """Where proofs read complete-subtree hashes from: the database, or a `MemoryTree`."""

    def node(self, level: int, index: int) -> bytes:
        """Return the hash of the complete subtree of 2^level leaves starting at leaf index·2^level."""
        ...


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: an interior node is SHA-256(0x01 ‖ left ‖ right), apart from leaves by the prefix."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """Compute MTH (RFC 9162 §2.1.1) straight from all leaf hashes, without stored nodes.

    Pairing neighbours level by level and lifting an odd last node unchanged gives exactly the split at
    the largest power of two below n that §2.1.1 defines, without recursion.
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    _check_hashes(leaf_hashes, "leaf hash", ValueError)
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def completed_nodes(size: int, leaf: bytes, get: Callable[[int, int], bytes]) -> list[tuple[int, int, bytes]]:
    """List the (level, index, hash) nodes that become complete when leaf number `size` is appended.

    The first is the leaf itself at level 0; one more follows for each trailing one bit of `size`, each
    reading its left sibling through `get(level, index)`. That is one read on average and log2(n) at worst.
    """
    if size < 0:
        raise ValueError(f"a leaf index cannot be negative: {size}")
    _check_hashes([leaf], "leaf hash", ValueError)
    nodes = [(0, size, leaf)]
    level, index, value = 0, size, leaf
    while index & 1:
        value = node_hash(get(level, index - 1), value)
        level, index = level + 1, index >> 1
        nodes.append((level, index, value))
    return nodes


def subtree_hash(start: int, end: int, source: NodeSource) -> bytes:
    """MTH(D[start:end]) for an RFC 9162 subtree, from at most log2(end-start)+1 complete nodes.

    A subtree that the §2.1 recursion can produce starts at a multiple of the power of two at or above its
    size; it is then its complete aligned pieces, largest first, hashed together from the right.
    """
    size = end - start
    if start < 0 or size <= 0:
        raise ValueError(f"[{start}, {end}) is not a non-empty range of leaves")
    if start % (1 << (size - 1).bit_length()):
        raise ValueError(f"[{start}, {end}) is not a subtree of an RFC 9162 tree")
    pieces = []
    position = start
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            pieces.append(source.node(level, position >> level))
            position += 1 << level
    value = pieces.pop()
    while pieces:
        value = node_hash(pieces.pop(), value)
    return value


def root(size: int, source: NodeSource) -> bytes:
    """The tree head's root hash at `size` leaves (RFC 9162 §2.1.1), from at most log2(size)+1 reads."""
    if size < 0:
        raise ValueError(f"a tree size cannot be negative: {size}")
    return subtree_hash(0, size, source) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, source: NodeSource) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, the sibling nearest the leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    low, high = 0, size
    while high - low > 1:
        k = _split(high - low)
        if index < low + k:
            path.append(subtree_hash(low + k, high, source))
            high = low + k
        else:
            path.append(subtree_hash(low, low + k, source))
            low += k
    return path[::-1]


def consistency_proof(old_size: int, new_size: int, source: NodeSource) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1, the node nearest the leaves first.

    Defined for 0 < old_size ≤ new_size: every tree extends the empty one, so there is nothing to prove.
    """
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from {old_size} to {new_size} leaves; needs 0 < old ≤ new")
    proof: list[bytes] = []
    low, high, whole = 0, new_size, True  # SUBPROOF(m, D[low:high], whole)
    while old_size - low < high - low:
        k = _split(high - low)
        if old_size - low <= k:
            proof.append(subtree_hash(low + k, high, source))
            high = low + k
        else:
            proof.append(subtree_hash(low, low + k, source))
            low, whole = low + k, False
    if not whole:
        proof.append(subtree_hash(low, high, source))
    return proof[::-1]


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check an inclusion proof by RFC 9162 §2.1.3.2; raise ProofError saying what does not hold."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} cannot be in a tree of {size} leaves")
    _check_hashes([leaf_hash], "leaf hash")
    _check_hashes(proof, "inclusion proof hash")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError(f"the inclusion proof has more than the {_proof_length(index, size)} hashes it needs")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:  # skip the levels where the leaf's subtree is the right border
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"the inclusion proof has {len(proof)} hashes, needs {_proof_length(index, size)}")
    if r != root:
        raise ProofError(f"leaf {index} with this proof gives another root than the tree head of size {size}")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Check that the tree of new_size extends the tree of old_size, by RFC 9162 §2.1.4.2; raise ProofError."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"a log cannot shrink or be negative: {old_size} → {new_size} leaves")
    if old_size == new_size:
        # §2.1.4.1: PROOF(m, D[m]) is empty, and equal heads must be the same head.
        if proof:
            raise ProofError(f"a consistency proof between equal sizes ({old_size}) must be empty")
        if old_root != new_root:
            raise ProofError(f"two tree heads of size {old_size} have different roots")
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise ProofError("the root of an empty tree must be the SHA-256 of nothing")
        return
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing (RFC 9162 §2.1.4 needs 0 < m)")
    if not proof:
        raise ProofError(f"the consistency proof from {old_size} to {new_size} leaves is empty")
    _check_hashes([old_root, new_root], "root hash")
    _check_hashes(proof, "consistency proof hash")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"the consistency proof from {old_size} to {new_size} leaves has hashes left over")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"the consistency proof from {old_size} to {new_size} leaves is too short")
    if fr != old_root:
        raise ProofError(f"the consistency proof does not lead to the old root at {old_size} leaves")
    if sr != new_root:
        raise ProofError(f"the consistency proof does not lead to the new root at {new_size} leaves")


class Frontier:
    """The right border of a tree built leaf by leaf: each new leaf's completed nodes and the root, in
    O(log n) memory. Verification streams a whole log through one of these."""

    def __init__(self) -> None:
        self.size = 0
        self._border: list[bytes] = []  # complete subtrees left to right, one per one bit of `size`

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the (level, index, hash) nodes it completes, the leaf itself first."""
        index, level, value = self.size, 0, leaf
        nodes = [(0, index, leaf)]
        while index & 1:
            value = node_hash(self._border.pop(), value)
            level, index = level + 1, index >> 1
            nodes.append((level, index, value))
        self._border.append(value)
        self.size += 1
        return nodes

    def root(self) -> bytes:
        """MTH of the leaves so far: the border's subtrees hashed together from the right."""
        if not self._border:
            return EMPTY_ROOT
        value = self._border[-1]
        for left in reversed(self._border[:-1]):
            value = node_hash(left, value)
        return value


class MemoryTree:
    """Every complete-subtree hash in lists: the NodeSource for tests and for verifying an exported log."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = []
        for value in leaf_hashes:
            self.append(value)

    @property
    def size(self) -> int:
        return len(self._levels[0]) if self._levels else 0

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash and the nodes it completes; return its index."""
        index = self.size
        for level, _, value in completed_nodes(index, leaf, self.node):
            if level == len(self._levels):
                self._levels.append([])
            self._levels[level].append(value)
        return index

    def node(self, level: int, index: int) -> bytes:
        if level < 0 or index < 0 or level >= len(self._levels) or index >= len(self._levels[level]):
            raise LookupError(f"no complete node at level {level}, index {index} in a tree of {self.size}")
        return self._levels[level][index]

    def root(self) -> bytes:
        return root(self.size, self)


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1), where RFC 9162 §2.1.1 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def _proof_length(index: int, size: int) -> int:
    """How many hashes PATH(index, D[size]) has: the inner part below the split plus the right border."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _check_hashes(values: Iterable[bytes], what: str, error: type[ValueError] = ProofError) -> None:
    for value in values:
        if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
            raise error(f"a {what} must be {HASH_SIZE} bytes, got {_describe(value)}")


def _describe(value: object) -> str:
    return f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else type(value).__name__
