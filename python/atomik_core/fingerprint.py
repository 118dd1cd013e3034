# SPDX-License-Identifier: Apache-2.0
"""Fingerprint (the reference's ``atomik_core.fingerprint``) and
FingerprintGate, from the compiled core. Strong by default; width=64 or 32
truncates the strong value; legacy_xor_fold=True is the reference's fold."""

from ._core import Fingerprint, FingerprintGate  # noqa: F401

__all__ = ["Fingerprint", "FingerprintGate"]
