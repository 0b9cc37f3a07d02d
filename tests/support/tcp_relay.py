"""A TCP relay that holds every chunk for a fixed delay each way, as a directory in
another network would: for timing what a far directory's round trips cost (make bench).
Loopback only; a daemon thread serves until the process ends."""

import asyncio
import threading


def start(upstream_port, delay_s, host="127.0.0.1"):
    """Relays a port of its own to `upstream_port`; returns that port."""
    ready = threading.Event()
    port = []

    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                await asyncio.sleep(delay_s)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def serve(client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(host, upstream_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))

    async def main():
        server = await asyncio.start_server(serve, host, 0)
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        async with server:
            await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
    ready.wait(10)
    return port[0]
