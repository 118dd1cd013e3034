# SPDX-License-Identifier: Apache-2.0
"""python -m atomik_core [COMMAND]

Commands (the reference's):
  (none)               version, then a demo of load/accum/read/swap
  version              atomik_core and Python versions, platform
  benchmark [--json]   run the benchmarks (atomik_core.benchmark)
  -h, --help, help     this text

Exit status: 0 on success, 2 for an unknown command or option (usage).
"""

import os
import platform
import sys


def _version():
    import atomik_core
    print("atomik_core %s (the atomik library's version; API of the "
          "reference atomik_core %s)"
          % (atomik_core.__version__, atomik_core.REFERENCE_VERSION))
    print("Python %s (%s)" % (platform.python_version(), sys.executable))
    print("Platform: %s" % platform.platform())
    print("Module: %s" % atomik_core._core.__file__)


def _demo():
    from atomik_core import AtomikContext
    ctx = AtomikContext(width=64)
    print("\nDemo: the four operations")
    ctx.load(0xDEADBEEFCAFEBABE)
    print("  LOAD  0xdeadbeefcafebabe      state = %#x" % ctx.read())
    ctx.accum(0xFF)
    print("  ACCUM 0xff                    state = %#x" % ctx.read())
    ctx.accum(0xFF)
    print("  ACCUM 0xff (undoes the last)  state = %#x" % ctx.read())
    snap = ctx.swap(0)
    print("  SWAP  0                       returned %#x, state = %#x"
          % (snap, ctx.read()))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        _version()
        _demo()
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd in ("-h", "--help", "help"):
        print(__doc__.strip())
        return 0
    if cmd == "version" and not rest:
        _version()
        return 0
    if cmd == "benchmark":
        from atomik_core.benchmark import main as bench_main
        bench_main(rest)  # SystemExit(2) for a bad option
        return 0
    print("atomik_core: unknown command or option: %s" % " ".join(argv),
          file=sys.stderr)
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as CLI tools
        # do, and keep Python's shutdown flush from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
