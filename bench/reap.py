"""Run one command and report its own time, peak RSS and exit code.

Started with ``python -S -I`` so that it stays small: a child's peak
RSS counts the memory of the process it was forked from, so the large
benchmark process must not fork the plugin itself.  The reaper's own
peak is reported too: no child can report less.  Usage:

    python -S -I reap.py REPORT_FILE COMMAND [ARG...]
"""

import os
import sys
import time


def main() -> None:
    report, *argv = sys.argv[1:]
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    with open(report, "w") as out:
        out.write(f"{seconds!r} {usage.ru_maxrss} {code} {_own_peak()}\n")


def _own_peak() -> int:
    """This reaper's peak RSS in KiB: the floor of what it reports."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


if __name__ == "__main__":
    main()
