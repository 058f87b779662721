"""What every HTTP server here (the web app, the WeCom and Feishu callbacks, the Telegram webhook)
does against big and slow requests: bodies read within a size limit (never buffered past it)
and a time limit.

A body must arrive at BODY_MIN_RATE bytes a second on average once BODY_GRACE seconds have
passed: a client sending a byte every few seconds (slowloris) would otherwise hold a connection,
and a worker reading it, for as long as it likes. A body past its limit is refused as soon as
the limit is passed (or at once, when Content-Length announces it), so an unauthenticated
callback of 400 MB costs the server its limit, not 400 MB of memory.

uvicorn itself has no timeout on a request's headers (its keep-alive timeout only runs between
requests), so `server_limits` gives every server here an h11 protocol that closes a connection
whose request line and headers have not all arrived HEADER_SECONDS after its first byte (or
after the connection opened), caps the headers' size, and bounds the connections served at once.

uvicorn's bound (CONNECTIONS_AT_ONCE) counts idle connections too, so one client holding a
thousand sockets that send nothing would make every server answer 503 to everybody. The same
protocol therefore counts open connections per client address (`client_key`: an IPv6 address
stands for its /64) and closes at once, before uvicorn counts it, any connection past
CONNECTIONS_PER_CLIENT from one address, or past CONNECTIONS_PER_NETWORK from its network (an
IPv4 /24, an IPv6 /48). A proxy named in BULLETIN_BOT_TRUSTED_PROXIES is not capped (every client behind it shares its address; the proxy must cap connections per client).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable

from fastapi.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from .errors import UploadTooLarge

BODY_GRACE = 10.0
BODY_MIN_RATE = 1024
HEADER_SECONDS = 10.0  # a request line and its headers, from the first byte (or the connection)
MAX_HEADER_BYTES = 16 * 1024  # h11's incomplete-event cap: the request line and headers
KEEP_ALIVE_SECONDS = 5  # an idle connection between requests
CONNECTIONS_AT_ONCE = 1000  # past this, uvicorn answers 503 (each slow one ends within the timeouts)
CONNECTIONS_PER_CLIENT = 32  # open connections from one address (a browser opens 6); more are closed
# open connections from one network (an IPv4 /24, an IPv6 /48): addresses next to each other are
# most often one attacker's (a fourth fresh attack filled the 1,000 from 40 addresses of one /24,
# 27 each); a quarter of the whole, so four such networks at least are needed to fill it
CONNECTIONS_PER_NETWORK = CONNECTIONS_AT_ONCE // 4


def _address(client: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `client` names (an IPv4-mapped IPv6 address as its IPv4 one), or None."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _network(client: str, v4_prefix: int, v6_prefix: int) -> str:
    address = _address(client)
    if address is None:
        return client
    prefix = v4_prefix if isinstance(address, ipaddress.IPv4Address) else v6_prefix
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def client_key(client: str) -> str:
    """The key a client address counts under: an IPv6 address stands for its /64."""
    address = _address(client)
    return str(address) if isinstance(address, ipaddress.IPv4Address) else _network(client, 32, 64)


def network_key(client: str) -> str:
    """The network a client address counts under for connections: its IPv4 /24 or IPv6 /48."""
    return _network(client, 24, 48)


def _is_in(client: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    address = _address(client)
    return address is not None and any(address in network for network in networks)


def too_slow() -> HTTPException:
    return HTTPException(408, "请求发送得太慢，连接已断开。", headers={"Connection": "close"})


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (UploadTooLarge) as soon as it passes `limit` bytes, or when it
    arrives too slowly (408, an HTTPException)."""
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and (len(declared) > 15 or int(declared) > limit):
        raise UploadTooLarge
    loop = asyncio.get_running_loop()
    start = loop.time()
    chunks: list[bytes] = []
    size = 0
    stream = request.stream().__aiter__()
    while True:
        # the next chunk is due when the average since `start` would fall below the rate
        due = start + max(BODY_GRACE, (size + 1) / BODY_MIN_RATE)
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), max(0.0, due - loop.time()))
        except StopAsyncIteration:
            break
        except (asyncio.TimeoutError, ClientDisconnect):
            raise too_slow() from None
        size += len(chunk)
        if size > limit:
            raise UploadTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def header_timeout_protocol(trusted_proxies: Iterable[str] = (), per_client: int = CONNECTIONS_PER_CLIENT,
                            per_network: int | None = None) -> type:
    """uvicorn's h11 protocol, closing a connection whose headers are late and one past
    `per_client` open from one address, or `per_network` from its network, not in
    `trusted_proxies` (see the docstring)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    trusted = tuple(ipaddress.ip_network(value.strip(), strict=False) for value in trusted_proxies)
    per_network = CONNECTIONS_PER_NETWORK if per_network is None else per_network
    open_from: dict[str, int] = {}  # client_key -> connections open now (one server, one event loop)

    class HeaderTimeoutH11(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _counted: tuple[str, ...] = ()  # the keys this connection counts under, once counted

        def _admit(self) -> bool:
            """Count this connection against its address and network; False: one too many, close it."""
            peer = self.client[0] if self.client else None
            if peer is None or _is_in(peer, trusted):
                return True
            caps = {client_key(peer): per_client, "net " + network_key(peer): per_network}
            if any(open_from.get(key, 0) >= cap for key, cap in caps.items()):
                return False
            for key in caps:
                open_from[key] = open_from.get(key, 0) + 1
            self._counted = tuple(caps)
            return True

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(HEADER_SECONDS, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if not self._admit():
                self.connections.discard(self)  # never counted against uvicorn's bound for all
                transport.abort()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:  # a new request begins (after a keep-alive pause)
                self._arm()
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # its request line and headers are in
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            for key in self._counted:
                left = open_from.get(key, 1) - 1
                if left > 0:
                    open_from[key] = left
                else:
                    open_from.pop(key, None)
            self._counted = ()
            super().connection_lost(exc)

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutH11


def server_limits(trusted_proxies: Iterable[str] = ()) -> dict[str, object]:
    """uvicorn.Config keyword arguments every server here runs with (see the docstring); the
    proxies in `trusted_proxies` (addresses or networks) are not capped per address."""
    return {"http": header_timeout_protocol(trusted_proxies), "timeout_keep_alive": KEEP_ALIVE_SECONDS,
            "h11_max_incomplete_event_size": MAX_HEADER_BYTES, "limit_concurrency": CONNECTIONS_AT_ONCE}
