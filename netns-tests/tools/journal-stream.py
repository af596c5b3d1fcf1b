#!/usr/bin/env python3
"""Run a command the way systemd does with StandardError=journal: stdout and
stderr become one stream connected to journald's stdout socket, and
JOURNAL_STREAM names it ("DEVICE:INODE", systemd.exec(5)).

usage: journal-stream.py STDOUT_SOCKET IDENTIFIER CMD [ARGS...]
"""
import os
import socket
import sys

sock_path, ident, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock_path)
s.shutdown(socket.SHUT_RD)
# The stream header systemd sends (journald-stream.c): identifier, unit id,
# priority, level prefix, forward to syslog, to kmsg, to console.
s.sendall(f"{ident}\n\n6\n1\n0\n0\n0\n".encode())
os.dup2(s.fileno(), 1)
os.dup2(s.fileno(), 2)
st = os.fstat(2)
os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
os.execvp(cmd[0], cmd)
