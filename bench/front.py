"""A TCP front for several bot-service replicas, as a load balancer sees them (for `supportbot bench soak`
and the replica tests): each new connection goes to a replica that accepts one, skipping dead ones, so a
dead replica's customers reconnect to a live one. Policy `first` prefers the replicas in the order
given (a test knows where its customer is); `round_robin` spreads connections over them."""

from __future__ import annotations

import asyncio
import itertools
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports_in_a_row(n: int) -> int:
    """A port p such that p .. p+n-1 are free now (the Rasa servers listen on consecutive ports)."""
    for _ in range(50):
        p = free_port()
        if all(_is_free(p + i) for i in range(1, n)):
            return p
    raise RuntimeError(f"no {n} free ports in a row found")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Front:
    def __init__(self, backends: list[int], policy: str = "round_robin", port: int | None = None):
        if policy not in ("first", "round_robin"):
            raise ValueError(f"policy is {policy!r}; use first or round_robin")
        self.backends = backends
        self.policy = policy
        self.port = port or free_port()
        self.connections: list[int] = []  # the backend port each connection went to
        self._turn = itertools.count()
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port, reuse_address=True)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    def _order(self) -> list[int]:
        if self.policy == "first":
            return list(self.backends)
        k = next(self._turn) % len(self.backends)
        return self.backends[k:] + self.backends[:k]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for port in self._order():
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                continue
        else:
            writer.close()
            return
        self.connections.append(port)

        await splice(reader, writer, up_reader, up_writer)


async def _copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    try:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        dst.close()


async def splice(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
    """Copy bytes both ways between a client connection and its upstream until either side closes."""
    await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))
