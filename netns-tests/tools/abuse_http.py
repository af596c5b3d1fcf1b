#!/usr/bin/env python3
"""Abuse an HTTP endpoint for a bounded time: slowloris connections that
never finish their headers, plus a loop of scrapes, 404s and garbage.

usage: abuse_http.py HOST PORT SECONDS [SLOW_CONNECTIONS]

Prints "scrapes=N ok=N notfound=N slow_closed=N of M" at the end. Bounded:
at most SECONDS (plus 1 s) and 20 requests per second.
"""
import socket
import sys
import time


def request(host, port, raw):
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(raw)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data
    except OSError:
        return b""


def main():
    host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    nslow = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    slow = []
    for _ in range(nslow):
        try:
            s = socket.create_connection((host, port), timeout=1)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            s.setblocking(False)
            slow.append(s)
        except OSError:
            pass
    end = time.time() + secs
    scrapes = ok = notfound = 0
    while time.time() < end:
        r = request(host, port, b"GET /metrics HTTP/1.0\r\n\r\n")
        scrapes += 1
        ok += r.startswith(b"HTTP/1.1 200") or r.startswith(b"HTTP/1.0 200")
        r = request(host, port, b"GET /../../etc/passwd HTTP/1.0\r\n\r\n")
        notfound += b" 404 " in r[:20]
        request(host, port, b"\x16\x03\x01garbage\r\n\r\n")
        time.sleep(0.05)
    # The server must let go of every slow client (header timeout): wait
    # up to 3 s more for each.
    closed = 0
    for s in slow:
        s.setblocking(True)
        s.settimeout(max(0.1, end + 3 - time.time()))
        try:
            s.recv(1)  # EOF or an error response: the server let go
            closed += 1
        except socket.timeout:
            pass
        except OSError:
            closed += 1
        s.close()
    print("scrapes=%d ok=%d notfound=%d slow_closed=%d of %d"
          % (scrapes, ok, notfound, closed, len(slow)))


if __name__ == "__main__":
    main()
