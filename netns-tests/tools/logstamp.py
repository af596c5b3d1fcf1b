#!/usr/bin/env python3
"""Follow a log file and stamp each new line with the time it appeared.

usage: logstamp.py FILE [REGEX] [--duration S]

Starts at FILE's current end and prints "EPOCH LINE" (EPOCH in seconds,
microseconds) for every complete line appended later that matches REGEX
(a Python regular expression searched in the line; every line without
one), flushed at once.  Wakes on inotify (no polling delay), falls back to
1 ms polls where inotify is missing.  Ends on SIGTERM or after --duration
(default 3600 s).  For daemons whose own log timestamps are too coarse
(keepalived's console log has whole seconds).
"""
import ctypes
import os
import re
import select
import signal
import sys
import time

IN_MODIFY = 0x2
IN_NONBLOCK = 0o4000


def inotify_fd(path):
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(IN_NONBLOCK)
        if fd < 0:
            return None
        if libc.inotify_add_watch(fd, path.encode(), IN_MODIFY) < 0:
            os.close(fd)
            return None
        return fd
    except (OSError, AttributeError):
        return None


def main() -> int:
    args = sys.argv[1:]
    duration = 3600.0
    if "--duration" in args:
        i = args.index("--duration")
        duration = float(args[i + 1])
        del args[i : i + 2]
    path = args[0]
    pattern = re.compile(args[1]) if len(args) > 1 else None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    end = time.monotonic() + duration
    notify = inotify_fd(path)
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        partial = b""
        while time.monotonic() < end:
            chunk = f.read()
            if chunk:
                stamp = time.time()
                lines = (partial + chunk).split(b"\n")
                partial = lines.pop()
                for raw in lines:
                    line = raw.decode("utf-8", "replace")
                    if pattern is None or pattern.search(line):
                        sys.stdout.write(f"{stamp:.6f} {line}\n")
                sys.stdout.flush()
                continue
            if notify is None:
                time.sleep(0.001)
                continue
            select.select([notify], [], [], 0.5)
            try:
                os.read(notify, 4096)
            except BlockingIOError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
