# SPDX-License-Identifier: Apache-2.0
"""The fingerprint the integrations use: atomik_core's strong fingerprint,
truncated to `width` bits as Fingerprint(width=...) does (64 by default in
every integration, the reference's default width), or at full width
(None or 128)."""

from atomik_core import Fingerprint


def make_fingerprint(width=None):
    """A Fingerprint of `width` bits (None: the full strong fingerprint)."""
    if width is None or width == 128:
        return Fingerprint()
    return Fingerprint(width=width)


def fingerprint_of(data, width=None):
    """(value, width) of the fingerprint of bytes-like `data`."""
    fp = make_fingerprint(width)
    fp.load(data)
    return fp.value, fp.width
