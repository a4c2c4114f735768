"""A sticky TCP reverse proxy for several SAC app processes on one machine (docs/ARCHITECTURE.md, "Several app
processes").

A Streamlit session lives in one process: its websocket, the files it was sent (``/_stcore/upload_file``) and
the files it offers (``/media/...``). So every connection of one browser must reach the same process. For each
client connection the balancer reads the first HTTP request head and routes by the cookie ``sac_node=<i>``;
a browser without it (or pinned to a process that refuses connections) goes to the process with the fewest
open connections, and the first response head gets ``Set-Cookie: sac_node=<i>``. After that the balancer
only copies bytes both ways, which carries keep-alive requests and websocket upgrades alike.

Run alone: ``python -m sac.balancer --port 8501 127.0.0.1:8502 127.0.0.1:8503`` (``python -m sac serve
--workers N`` starts the processes and this in one go).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import sys
from collections.abc import Sequence

COOKIE = "sac_node"
HEAD_LIMIT = 64 * 1024
HEAD_TIMEOUT_S = 30.0   # a client that opens a connection and sends no request head in this time is dropped
_REQUEST_LINE = re.compile(rb"[A-Z]+ \S+ HTTP/1\.[01]")
_HEADER = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*")
_BAD_REQUEST = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
                b"Connection: close\r\n\r\nbad request\n")
_NO_BACKEND = (b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 23\r\n"
               b"Connection: close\r\n\r\nno app process answers\n")


class BadRequest(ValueError):
    pass


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    """The head of an HTTP message, up to and including its blank line; None at a clean end of stream.
    Raises BadRequest when it is longer than HEAD_LIMIT or the stream ends inside it."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise BadRequest("the connection ended inside the request head") from None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too long") from None


def pinned_node(head: bytes) -> int | None:
    """The number in the request's ``sac_node`` cookie; raises BadRequest for a malformed head."""
    lines = head[:-4].split(b"\r\n")
    if not _REQUEST_LINE.fullmatch(lines[0]) or not all(_HEADER.fullmatch(h) for h in lines[1:]):
        raise BadRequest("malformed request head")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() != b"cookie":
            continue
        for pair in value.split(b";"):
            key, _, v = pair.strip().partition(b"=")
            if key == COOKIE.encode() and v.isdigit() and len(v) < 4:
                return int(v)
    return None


def with_cookie(head: bytes, node: int) -> bytes:
    """A response head with ``Set-Cookie: sac_node=<node>`` added after its status line."""
    status, _, rest = head.partition(b"\r\n")
    cookie = f"Set-Cookie: {COOKIE}={node}; Path=/; HttpOnly; SameSite=Lax\r\n".encode()
    return status + b"\r\n" + cookie + rest


class Balancer:
    """Sticky proxy to ``backends`` (host, port). ``open_connections[i]`` counts the client connections open on
    backend i now, ``served[i]`` all it was given."""

    def __init__(self, backends: Sequence[tuple[str, int]], *, host: str = "127.0.0.1", port: int = 8501,
                 connect_timeout: float = 5.0) -> None:
        if not backends:
            raise ValueError("no backends")
        self.backends = list(backends)
        self.host, self.port, self.connect_timeout = host, port, connect_timeout
        self.open_connections = [0] * len(self.backends)
        self.served = [0] * len(self.backends)
        self._turn = itertools.count()
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, self.host, self.port, limit=HEAD_LIMIT)
        self.port = self.server.sockets[0].getsockname()[1]

    async def serve_forever(self) -> None:
        if self.server is None:
            await self.start()
        async with self.server:
            await self.server.serve_forever()

    def _order(self, pinned: int | None) -> list[int]:
        """Backends to try: the pinned one first, then by fewest open connections (ties taken in turn)."""
        turn = next(self._turn)
        n = len(self.backends)
        rest = sorted(range(n), key=lambda i: (self.open_connections[i], (i - turn) % n))
        return [pinned, *(i for i in rest if i != pinned)] if pinned is not None else rest

    async def _connect(self, pinned: int | None):
        for i in self._order(pinned):
            host, port = self.backends[i]
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(host, port, limit=HEAD_LIMIT),
                                              self.connect_timeout)
                return i, r, w
            except OSError:   # refused, unreachable, or no answer in time (TimeoutError)
                continue   # skip it (a client pinned to it is pinned anew)
        return None, None, None

    async def _client(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        node = None
        try:
            try:
                head = await asyncio.wait_for(read_head(client_r), HEAD_TIMEOUT_S)
                if head is None:
                    return
                pinned = pinned_node(head)
            except TimeoutError:
                return
            except BadRequest:
                client_w.write(_BAD_REQUEST)
                await client_w.drain()
                return
            if pinned is not None and not 0 <= pinned < len(self.backends):
                pinned = None
            node, backend_r, backend_w = await self._connect(pinned)
            if node is None:
                client_w.write(_NO_BACKEND)
                await client_w.drain()
                return
            self.open_connections[node] += 1
            self.served[node] += 1
            try:
                backend_w.write(head)
                await backend_w.drain()
                if node != pinned:
                    try:
                        reply = await read_head(backend_r)
                    except BadRequest:
                        reply = None   # too long to edit: passed on as it comes; cut short: the client sees the end
                    if reply is not None:
                        client_w.write(with_cookie(reply, node))
                pipes = [asyncio.create_task(_pipe(client_r, backend_w)),
                         asyncio.create_task(_pipe(backend_r, client_w))]
                try:
                    await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in pipes:
                        task.cancel()
            finally:
                self.open_connections[node] -= 1
                backend_w.close()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            client_w.close()


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    """Copy until either side ends; the caller then closes both (neither HTTP nor a websocket half-closes)."""
    try:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass


def parse_backend(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sac.balancer", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("backends", nargs="+", type=parse_backend, metavar="HOST:PORT")
    args = p.parse_args(argv)
    balancer = Balancer(args.backends, host=args.host, port=args.port)
    print(f"balancer on http://{args.host}:{args.port} -> " + ", ".join(f"{h}:{p}" for h, p in args.backends),
          file=sys.stderr)
    try:
        asyncio.run(balancer.serve_forever())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
