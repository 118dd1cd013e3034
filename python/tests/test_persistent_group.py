# SPDX-License-Identifier: Apache-2.0
"""PersistentSyncTable(group="add"): durable counters, stored with the table."""
import pytest

from atomik_core import DeltaMessage, PersistentSyncTable


def test_add_counts_and_survives_a_reopen(tmp_path):
    path = tmp_path / "counters"
    with PersistentSyncTable(8, path=path, group="add") as t:
        assert t.group == "add"
        seen = []
        t.on_delta(seen.append)
        t.accum(3, 5)
        m = t.accum(3, 5)
        assert t.get(3) == 10                      # xor would give 0
        assert m.delta == 5 and len(seen) == 2
        t.accum(3, -1)                             # subtracts, modulo 2^64
        assert t.get(3) == 9
        t.put(3, 4)                                # logs 4 - 9
        assert t.get(3) == 4
        assert "group='add'" in repr(t)
    with PersistentSyncTable(8, path=path, group="add") as t:
        assert t.get(3) == 4
        t.compact()
    with PersistentSyncTable(8, path=path, group="add") as t:
        assert t.get(3) == 4


def test_narrow_add_wraps_modulo_its_width(tmp_path):
    with PersistentSyncTable(4, path=tmp_path / "w", width=8, group="add") as t:
        t.accum(0, 250)
        t.accum(0, 10)
        assert t.get(0) == 4                       # 260 mod 256
        t.accum(0, -255)                           # +1 modulo 256
        assert t.get(0) == 5
        with pytest.raises((ValueError, OverflowError)):
            t.put(0, 256)                          # does not fit 8 bits
        assert t.get(0) == 5


def test_received_deltas_add(tmp_path):
    with PersistentSyncTable(4, path=tmp_path / "r", group="add") as t:
        assert t.receive(DeltaMessage(1, 5, seq=1), origin=9)
        assert t.receive(DeltaMessage(1, 5, seq=2), origin=9)
        assert not t.receive(DeltaMessage(1, 5, seq=2), origin=9)  # duplicate
        assert t.get(1) == 10


def test_another_group_at_reopen_names_both(tmp_path):
    path = tmp_path / "m"
    PersistentSyncTable(4, path=path, group="add").close()
    with pytest.raises(RuntimeError, match="add/64, options say xor/64"):
        PersistentSyncTable(4, path=path)
    with pytest.raises(ValueError, match="group must be"):
        PersistentSyncTable(4, path=tmp_path / "x", group="mul")


def test_xor_tables_keep_their_old_behaviour(tmp_path):
    with PersistentSyncTable(4, path=tmp_path / "x", width=16) as t:
        assert t.group == "xor"
        t.accum(0, 5)
        t.accum(0, 5)
        assert t.get(0) == 0
    # An XOR table is stored as 64-bit words whatever its Python width.
    with PersistentSyncTable(4, path=tmp_path / "x", width=32) as t:
        assert t.get(0) == 0


def test_node_group_add_counts_and_refuses_another_group(tmp_path):
    from atomik_core._net import Node
    with Node(tmp_path / "n", group="add") as n:
        n.accum(7, 5)
        n.accum(7, 5)
        assert n.read(7) == 10
    with pytest.raises(RuntimeError, match="add/64, options say xor/64"):
        Node(tmp_path / "n")
    with pytest.raises(ValueError, match="group must be"):
        Node(tmp_path / "m", group="sum")
