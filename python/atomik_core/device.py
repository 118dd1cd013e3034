# SPDX-License-Identifier: Apache-2.0
"""DeviceContext and DeviceTable: the reference's API for its FPGA/kernel
module, reached through the character device /dev/atomik (ioctls).

atomik itself has no such device; these classes talk to the reference's
kernel module when it is loaded, with the reference's request numbers and
little-endian structs. Without the device, creating either class raises
FileNotFoundError (an OSError) naming the device path, as the reference
does: never ImportError, so `from atomik_core import DeviceContext` always
works. Values are 64-bit and checked (OverflowError), not masked.
"""

import errno
import fcntl  # the device exists only on Linux; tests patch fcntl.ioctl
import os
import struct

__all__ = ["DeviceContext", "DeviceTable", "DeviceInfo", "ATOMIK_DEVICE"]

ATOMIK_DEVICE = "/dev/atomik"
ATOMIK_MAX_CONTEXTS = 65536
ATOMIK_MAX_TABLES = 256

# Linux's _IOC request encoding: nr in bits 0-7, type 8-15, size 16-29,
# direction 30-31. The names are the reference's (and <linux/ioctl.h>'s).
_IOC_NONE, _IOC_WRITE, _IOC_READ = 0, 1, 2


def _IOC(dir_, type_, nr, size):  # noqa: N802 (the kernel macro's name)
    return (dir_ << 30) | (size << 16) | (type_ << 8) | nr


def _IOW(type_, nr, size):  # noqa: N802
    return _IOC(_IOC_WRITE, type_, nr, size)


def _IOR(type_, nr, size):  # noqa: N802
    return _IOC(_IOC_READ, type_, nr, size)


def _IOWR(type_, nr, size):  # noqa: N802
    return _IOC(_IOC_READ | _IOC_WRITE, type_, nr, size)


_ATOMIK_MAGIC = ord("A")

# Request structs of the reference's kernel interface: little-endian,
# natural alignment (no padding: every u64 falls on an 8-byte offset).
_FMT_CREATE_TABLE = "<II"     # num_contexts, table_id (out)
_FMT_DESTROY_TABLE = "<I"     # table_id
_FMT_LOAD = "<IIQ"            # table_id, addr, initial_state
_FMT_ACCUM = "<IIQ"           # table_id, addr, delta
_FMT_READ = "<IIQ"            # table_id, addr, state (out)
_FMT_SWAP = "<IIQQ"           # table_id, addr, new_reference, old_state (out)
_FMT_INFO = "<IIIIQQQ"         # version, backend, hw_banks, fp_enabled,
#                               ops_total, fp_checks, fp_bytes_saved
_SZ_CREATE_TABLE = struct.calcsize(_FMT_CREATE_TABLE)
_SZ_DESTROY_TABLE = struct.calcsize(_FMT_DESTROY_TABLE)
_SZ_LOAD = struct.calcsize(_FMT_LOAD)
_SZ_ACCUM = struct.calcsize(_FMT_ACCUM)
_SZ_READ = struct.calcsize(_FMT_READ)
_SZ_SWAP = struct.calcsize(_FMT_SWAP)
_SZ_INFO = struct.calcsize(_FMT_INFO)

ATOMIK_IOC_CREATE_TABLE = _IOWR(_ATOMIK_MAGIC, 0x01, _SZ_CREATE_TABLE)
ATOMIK_IOC_DESTROY_TABLE = _IOW(_ATOMIK_MAGIC, 0x02, _SZ_DESTROY_TABLE)
ATOMIK_IOC_LOAD = _IOW(_ATOMIK_MAGIC, 0x10, _SZ_LOAD)
ATOMIK_IOC_ACCUM = _IOW(_ATOMIK_MAGIC, 0x11, _SZ_ACCUM)
ATOMIK_IOC_READ = _IOWR(_ATOMIK_MAGIC, 0x12, _SZ_READ)
ATOMIK_IOC_SWAP = _IOWR(_ATOMIK_MAGIC, 0x13, _SZ_SWAP)
ATOMIK_IOC_GET_INFO = _IOR(_ATOMIK_MAGIC, 0x40, _SZ_INFO)

_CREATE = (_FMT_CREATE_TABLE, ATOMIK_IOC_CREATE_TABLE)
_DESTROY = (_FMT_DESTROY_TABLE, ATOMIK_IOC_DESTROY_TABLE)
_LOAD = (_FMT_LOAD, ATOMIK_IOC_LOAD)
_ACCUM = (_FMT_ACCUM, ATOMIK_IOC_ACCUM)
_READ_STATE = (_FMT_READ, ATOMIK_IOC_READ)
_SWAP = (_FMT_SWAP, ATOMIK_IOC_SWAP)
_INFO = (_FMT_INFO, ATOMIK_IOC_GET_INFO)


def _u64(v, what):
    v = int(v)
    if v < 0 or v >> 64:
        raise OverflowError("%s %d does not fit 64 bits (pass %s & (2**64-1) "
                            "to mask it)" % (what, v, what))
    return v


def _open_device(device):
    try:
        return os.open(device, os.O_RDWR)
    except FileNotFoundError:
        raise FileNotFoundError(
            errno.ENOENT, "no ATOMiK device (is the atomik kernel module "
            "loaded? atomik_core runs everything in software without it: use "
            "AtomikContext/AtomikTable)", device) from None


class DeviceInfo:
    """What the kernel module reports: version, backend, hw_banks,
    fp_enabled, ops_total, fp_checks, fp_bytes_saved."""

    def __init__(self, raw):
        (version, backend, self.hw_banks, fp, self.ops_total, self.fp_checks,
         self.fp_bytes_saved) = struct.unpack(_INFO[0], raw)
        self.version = "%d.%d.%d" % ((version >> 16) & 0xFF,
                                     (version >> 8) & 0xFF, version & 0xFF)
        self.backend = "hardware" if backend == 1 else "software"
        self.fp_enabled = bool(fp)

    def __repr__(self):
        return ("DeviceInfo(version=%r, backend=%r, hw_banks=%d, ops_total=%d)"
                % (self.version, self.backend, self.hw_banks, self.ops_total))


class DeviceTable:
    """DeviceTable(num_contexts=256, *, fd=None, device="/dev/atomik")

    A context table held by the kernel module: load/accum/read/swap per
    address. FileNotFoundError if the device does not exist; OSError from
    the kernel on a failed request; ValueError for num_contexts outside
    1..65536. Usable as a context manager (closes on exit).
    """

    def __init__(self, num_contexts=256, *, fd=None, device=ATOMIK_DEVICE):
        self._fd = None
        self._owns_fd = False
        self._table_id = 0
        if not 1 <= num_contexts <= ATOMIK_MAX_CONTEXTS:
            raise ValueError("num_contexts must be 1..%d, got %r"
                             % (ATOMIK_MAX_CONTEXTS, num_contexts))
        self._fd = fd if fd is not None else _open_device(device)
        self._owns_fd = fd is None
        self._num_contexts = num_contexts
        buf = bytearray(struct.pack(_CREATE[0], num_contexts, 0))
        fcntl.ioctl(self._fd, _CREATE[1], buf)
        self._table_id = struct.unpack(_CREATE[0], buf)[1]

    def _call(self, layout, *fields, out=False):
        buf = struct.pack(layout[0], *fields)
        if out:
            buf = bytearray(buf)
        fcntl.ioctl(self._fd, layout[1], buf)
        return struct.unpack(layout[0], buf) if out else None

    def load(self, addr, initial_state):
        """Sets addr's reference, clearing its accumulator."""
        self._call(_LOAD, self._table_id, addr, _u64(initial_state, "initial_state"))

    def accum(self, addr, delta):
        """XORs delta into addr's accumulator."""
        self._call(_ACCUM, self._table_id, addr, _u64(delta, "delta"))

    def read(self, addr):
        """The current state at addr."""
        return self._call(_READ_STATE, self._table_id, addr, 0, out=True)[2]

    def swap(self, addr, new_reference=None):
        """Returns addr's state and starts a new epoch (new_reference, or
        the state itself when None)."""
        new = 0 if new_reference is None else _u64(new_reference, "new_reference")
        return self._call(_SWAP, self._table_id, addr, new, 0, out=True)[3]

    def info(self):
        """DeviceInfo from the kernel module."""
        buf = bytearray(_SZ_INFO)
        fcntl.ioctl(self._fd, _INFO[1], buf)
        return DeviceInfo(bytes(buf))

    @property
    def table_id(self):
        """The kernel's id of this table."""
        return self._table_id

    @property
    def num_contexts(self):
        """Number of contexts in this table."""
        return self._num_contexts

    def close(self):
        """Destroys the kernel table and closes the device (if opened here).
        A failure while destroying is ignored: the kernel frees the table
        when the descriptor closes."""
        if self._fd is None:
            return
        try:
            self._call(_DESTROY, self._table_id)
        except OSError:
            pass
        if self._owns_fd:
            try:
                os.close(self._fd)
            except OSError:
                pass  # Linux releases the descriptor even when close fails
        self._fd = None

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "DeviceTable(table_id=%d, num_contexts=%d)" % (
            self._table_id, getattr(self, "_num_contexts", 0))


class DeviceContext:
    """DeviceContext(*, device="/dev/atomik", fd=None, addr=0)

    One context of a one-context DeviceTable: load/accum/read/swap as
    AtomikContext. FileNotFoundError if the device does not exist.
    """

    def __init__(self, *, device=ATOMIK_DEVICE, fd=None, addr=0):
        self._table = None
        self._table = DeviceTable(1, fd=fd, device=device)
        self._addr = addr

    def load(self, value):
        """Sets the reference, clearing the accumulator."""
        self._table.load(self._addr, value)

    def accum(self, delta):
        """XORs delta into the accumulator."""
        self._table.accum(self._addr, delta)

    def read(self):
        """The current state."""
        return self._table.read(self._addr)

    def swap(self, new_reference=None):
        """Returns the state and starts a new epoch."""
        return self._table.swap(self._addr, new_reference)

    def close(self):
        """Releases the kernel table and the device."""
        if self._table is not None:
            self._table.close()
            self._table = None

    def __del__(self):
        if getattr(self, "_table", None) is not None:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "DeviceContext(table=%r)" % (self._table,)
