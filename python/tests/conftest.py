# SPDX-License-Identifier: Apache-2.0
"""Shared pytest set-up for the atomik_core tests.

The module under test is the one on PYTHONPATH (CTest points it at the
build tree). Random inputs come from `rng`, seeded from ATOMIK_TEST_SEED if
set, else a fresh seed that is printed so a failure can be replayed.
"""
import os
import random
import zlib

import pytest

import atomik_core

_SEED = int(os.environ.get("ATOMIK_TEST_SEED", random.SystemRandom().randrange(1 << 32)))


def pytest_report_header(config):
    return "atomik_core from %s; ATOMIK_TEST_SEED=%d" % (atomik_core.__file__, _SEED)


@pytest.fixture
def rng(request):
    """A random.Random seeded per test from ATOMIK_TEST_SEED."""
    seed = _SEED ^ zlib.crc32(request.node.name.encode())
    print("ATOMIK_TEST_SEED=%d (test seed %d)" % (_SEED, seed))
    return random.Random(seed)
