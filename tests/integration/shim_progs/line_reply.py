"""line_reply.py: read one line from stdin, answer on stdout with the SHA-256
of that line (without its newline) and this process's PID, then exit. Run by
socat EXEC for each connection."""
import hashlib
import os
import sys

line = sys.stdin.buffer.readline().rstrip(b"\n")
sys.stdout.write(f"{hashlib.sha256(line).hexdigest()} {os.getpid()}\n")
sys.stdout.flush()
