"""aio_lines.py PORT — an asyncio streams server under attls, for
test_python_attls.py: attls.aio on the socket of a stream's transport.

Per line from a client: STARTTLS answers "220 go" and starts TLS with
attls.aio.init_connection; STARTTLS_WITHIN S does the same under
asyncio.wait_for(S seconds) and, when that times out, says so on stdout
and waits again without a limit; STOP answers "200 stopping" and goes back
to clear text with attls.aio.stop_connection; QUERY answers with what
attls.aio.query says; anything else is echoed ("echo: LINE"). Reading is
paused around INIT, so the transport never takes the client's TLS bytes.
stdout: "listening PORT", then a line per event.
"""
import asyncio
import sys

import attls
import attls.aio


def log(text):
    print(text, flush=True)


async def start_tls(sock, n, within):
    if within is None:
        return await attls.aio.init_connection(sock)
    try:
        return await asyncio.wait_for(attls.aio.init_connection(sock), within)
    except asyncio.TimeoutError:
        log(f"conn {n}: no handshake within {within:g} s; waiting again")
        return await attls.aio.init_connection(sock)


async def client(reader, writer, n):
    sock = writer.get_extra_info("socket")
    log(f"conn {n}: accepted")
    while line := (await reader.readline()).decode().strip():
        cmd, _, arg = line.partition(" ")
        if cmd in ("STARTTLS", "STARTTLS_WITHIN"):
            writer.transport.pause_reading()
            writer.write(b"220 go\r\n")
            await writer.drain()
            st = await start_tls(sock, n, float(arg) if arg else None)
            writer.transport.resume_reading()
            log(f"conn {n}: {st.conn_status.name}")
        elif cmd == "STOP":
            writer.write(b"200 stopping\r\n")
            await writer.drain()
            st = await attls.aio.stop_connection(sock)
            log(f"conn {n}: {st.conn_status.name}")
        elif cmd == "QUERY":
            st = await attls.aio.query(sock)
            writer.write(f"{st.conn_status.name} {st.protocol.name} {st.rule_name}\r\n".encode())
        else:
            writer.write(f"echo: {line}\r\n".encode())
        await writer.drain()
    writer.close()
    log(f"conn {n}: closed")


async def main():
    count = 0

    def accepted(reader, writer):
        nonlocal count
        count += 1
        return client(reader, writer, count)
    server = await asyncio.start_server(accepted, "127.0.0.1", int(sys.argv[1]))
    log(f"listening {sys.argv[1]}")
    async with server:
        await server.serve_forever()


asyncio.run(main())
