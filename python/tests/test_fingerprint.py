# SPDX-License-Identifier: Apache-2.0
"""Fingerprint and FingerprintGate: strong change detection, and the
reference's XOR-fold as an exact, documented legacy mode."""
import mmap
import threading

import numpy as np
import pytest

from atomik_core import Fingerprint, FingerprintGate


def xor_fold(data, width):
    """The reference's definition: XOR of width/8-byte little-endian chunks,
    the tail zero-padded."""
    n = width // 8
    data = bytes(data) + b"\0" * (-len(data) % n)
    v = 0
    for i in range(0, len(data), n):
        v ^= int.from_bytes(data[i:i + n], "little")
    return v


def changed(fp, old, new):
    fp.load(old)
    fp.update(new)
    return fp.changed


BASE = bytes(range(64))
BLIND_SPOTS = {
    "swapped 8-byte words": BASE[8:16] + BASE[0:8] + BASE[16:],
    "same bit flipped in two chunks": bytes([BASE[0] ^ 1]) + BASE[1:8] + bytes([BASE[8] ^ 1]) + BASE[9:],
    "appended zeros": BASE + b"\0" * 8,
    "rotated buffer": BASE[8:] + BASE[:8],
}


@pytest.mark.parametrize("name", sorted(BLIND_SPOTS))
def test_strong_fingerprint_sees_the_reference_blind_spots(name):
    assert changed(Fingerprint(), BASE, BLIND_SPOTS[name])
    assert not changed(Fingerprint(legacy_xor_fold=True), BASE, BLIND_SPOTS[name])


def test_abc_versus_abc_nul():
    assert changed(Fingerprint(), b"abc", b"abc\0")
    assert not changed(Fingerprint(legacy_xor_fold=True), b"abc", b"abc\0")


def test_strong_fingerprint_sees_every_single_byte_change(rng):
    data = bytearray(rng.getrandbits(8) for _ in range(3000))
    fp = Fingerprint(chunk_size=256)
    fp.load(data)
    for _ in range(300):
        i = rng.randrange(len(data))
        edited = bytearray(data)
        edited[i] ^= 1 << rng.randrange(8)
        fp.update(edited)
        assert fp.changed
    fp.update(data)
    assert not fp.changed and fp.delta == 0


@pytest.mark.parametrize("width", [8, 16, 32, 64, 128])
def test_legacy_mode_reproduces_the_reference_values(width, rng):
    for n in (0, 1, 7, 8, 9, 100, 1000):
        data = bytes(rng.getrandbits(8) for _ in range(n))
        fp = Fingerprint(width, legacy_xor_fold=True)
        assert fp.load(data) == xor_fold(data, width) == fp.value
        assert fp.width == width and fp.mode == "legacy-xor-fold"


def test_legacy_accumulate_delta_as_the_reference():
    fp = Fingerprint(legacy_xor_fold=True)
    fp.load(b"\x01" + b"\0" * 7)
    fp.accumulate_delta(1, 3)
    assert fp.value == 3 and fp.changed
    with pytest.raises(RuntimeError, match="update_range"):
        Fingerprint().accumulate_delta(1, 3)


def test_reference_api_values_and_reset():
    fp = Fingerprint()
    v = fp.load(b"hello")
    assert v == fp.value == fp.reference and not fp.changed and fp.width == 128
    w = fp.update(b"hellp")
    assert w == fp.value != v and fp.changed and fp.delta == v ^ w
    fp.reset()
    assert not fp.changed and fp.value == w and fp.reference == w
    assert fp.length == 5 and fp.mode == "strong" and fp.chunk_size == 8192 and not fp.keyed


def test_inputs_may_be_any_buffer_without_a_copy():
    data = np.arange(4096, dtype=np.uint64)
    fp = Fingerprint()
    v = fp.load(data)
    assert Fingerprint().load(data.tobytes()) == v
    assert Fingerprint().load(memoryview(data.tobytes())) == v
    assert Fingerprint().load(bytearray(data.tobytes())) == v
    with mmap.mmap(-1, len(data.tobytes())) as m:
        m.write(data.tobytes())
        assert Fingerprint().load(m) == v


def test_large_inputs_hash_without_the_gil_and_stay_consistent():
    big = np.random.default_rng(1).integers(0, 255, size=1 << 21, dtype=np.uint8)
    expected = Fingerprint().load(big)
    fp = Fingerprint()
    results = []

    def worker():
        for _ in range(5):
            results.append(fp.update(big))
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 20 and fp.value == expected


def test_update_range_equals_a_full_recompute(rng):
    size, chunk = 64 * 1024 + 100, 1024
    data = bytearray(rng.getrandbits(8) for _ in range(size))
    fp = Fingerprint(chunk_size=chunk)
    fp.load(data)
    for _ in range(50):
        first = rng.randrange(size // chunk)
        n = rng.randrange(1, 4) * chunk
        off = first * chunk
        n = min(n, size - off)
        old = bytes(data[off:off + n])
        new = bytes(rng.getrandbits(8) for _ in range(n))
        data[off:off + n] = new
        fp.update_range(off, old, new)
        assert fp.value == Fingerprint(chunk_size=chunk).load(data)
    # In place: any offset and size.
    for _ in range(50):
        off = rng.randrange(size)
        n = rng.randrange(1, min(3000, size - off) + 1)
        old = bytes(data[off:off + n])
        data[off:off + n] = bytes(rng.getrandbits(8) for _ in range(n))
        fp.update_range_in_place(data, off, old)
        assert fp.value == Fingerprint(chunk_size=chunk).load(data)


def test_update_range_rejects_bad_ranges_and_changes_nothing():
    fp = Fingerprint(chunk_size=64)
    data = bytes(256)
    fp.load(data)
    before = fp.value
    with pytest.raises(ValueError):
        fp.update_range(0, b"\0" * 64, b"\1" * 63)           # sizes differ
    with pytest.raises(ValueError):
        fp.update_range(1, b"\0" * 64, b"\1" * 64)           # misaligned
    with pytest.raises(IndexError):
        fp.update_range(256, b"\0" * 64, b"\1" * 64)         # past the end
    with pytest.raises(ValueError):
        fp.update_range_in_place(data[:-1], 0, b"\0")        # wrong length
    with pytest.raises(OverflowError):
        fp.update_range(-1, b"", b"")
    assert fp.value == before


def test_keys_and_chunk_sizes_give_different_values_and_equals_compares_them():
    a, b, c = Fingerprint(), Fingerprint(key=42), Fingerprint(chunk_size=64)
    for fp in (a, b, c):
        fp.load(b"data")
    assert a.value != b.value and b.keyed
    a2 = Fingerprint()
    a2.load(b"data")
    assert a.equals(a2) and not a.equals(b) and not a.equals(c)


def test_canonical_form_round_trips():
    fp = Fingerprint(chunk_size=1024)
    fp.load(b"canonical")
    raw = fp.canonical()
    assert len(raw) == 20 and fp.canonical_hex() == raw.hex()
    parsed = Fingerprint.parse_canonical(raw)
    assert parsed == {"mode": "strong", "param": 1024, "keyed": False, "value": fp.value}
    with pytest.raises(ValueError, match="20"):
        Fingerprint.parse_canonical(raw[:19])


def test_bad_constructor_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="legacy_xor_fold=True"):
        Fingerprint(48)
    assert Fingerprint(128).width == 128
    with pytest.raises(ValueError, match="chunk"):
        Fingerprint(chunk_size=1000)
    with pytest.raises(ValueError, match="multiple of 8"):
        Fingerprint(12, legacy_xor_fold=True)
    with pytest.raises(ValueError, match="key"):
        Fingerprint(legacy_xor_fold=True, key=1)
    with pytest.raises(TypeError):
        Fingerprint(legacy_xor_fold=True, width="64")


@pytest.mark.parametrize("bad", ["text", 5, None, [1, 2], 1.5])
def test_non_bytes_inputs_are_type_errors(bad):
    fp = Fingerprint()
    fp.load(b"x")
    with pytest.raises(TypeError, match="bytes-like"):
        fp.update(bad)
    assert not fp.changed


def test_non_contiguous_buffers_are_type_errors():
    with pytest.raises(TypeError, match="contiguous"):
        Fingerprint().load(np.arange(10, dtype=np.uint8)[::2])


def test_repr_shows_value_in_hex():
    fp = Fingerprint(legacy_xor_fold=True)
    fp.load(b"\x01")
    assert repr(fp) == ("Fingerprint(value=0x0000000000000001, changed=False, width=64, "
                        "mode=legacy-xor-fold)")


def test_gate_acts_on_changes_and_skips_repeats():
    gate = FingerprintGate(chunk_size=64)
    samples = [b"a", b"a", b"b", b"b", b"b", BASE, BLIND_SPOTS["swapped 8-byte words"], b"a"]
    acted = [gate.check(s) for s in samples]
    assert acted == [True, False, True, False, False, True, True, True]
    assert (gate.checks, gate.changes, gate.skips) == (8, 5, 3)
    assert gate.last == Fingerprint(chunk_size=64).load(b"a")
    assert FingerprintGate().last is None
    assert repr(gate) == "FingerprintGate(checks=8, changes=5, skips=3)"
    with pytest.raises(TypeError):
        gate.check("a")
