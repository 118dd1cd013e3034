# SPDX-License-Identifier: Apache-2.0
"""The fingerprint the integrations use: atomik_core's strong fingerprint,
at full width (width None or 128) or truncated to `width` bits."""

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
