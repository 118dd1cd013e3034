# SPDX-License-Identifier: Apache-2.0
"""The reference's optional C accelerator interface, kept for code that
imports it. In atomik_core every operation already runs in the compiled
core, so is_available() is always True and these helpers are thin wrappers:
c_accum and c_read mask with the `mask` they are given (that is their
contract); c_fp_reduce is the reference's 64-bit XOR-fold (the weak legacy
fingerprint, Fingerprint(legacy_xor_fold=True)), not the strong one."""

from ._core import Fingerprint

__all__ = ["is_available", "c_accum", "c_read", "c_fp_reduce"]


def is_available():
    """True: the compiled core is part of the package."""
    return True


def c_accum(reference, accumulator, delta, mask):
    """The accumulator after XOR-ing delta in, masked. `reference` is not
    used (the reference's signature)."""
    return (accumulator ^ delta) & mask


def c_read(reference, accumulator, mask):
    """The state reference ^ accumulator, masked."""
    return (reference ^ accumulator) & mask


def c_fp_reduce(data):
    """The 64-bit XOR-fold of data (little-endian 8-byte chunks, the tail
    zero-padded): the reference's fingerprint value."""
    return Fingerprint(64, legacy_xor_fold=True).load(data)
