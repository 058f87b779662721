"""Who a web request comes from: one client, one identity.

The rate limits and the login throttle count per client address. uvicorn is started with its
own proxy handling off (`proxy_headers=False`), so the address is the connection's peer;
`X-Forwarded-For` is read here, and only when that peer is a proxy named in
`BULLETIN_BOT_TRUSTED_PROXIES` (none by default). The header is read right to left, skipping
the trusted proxies; the first address that is not one of them is the client. A value that is
not an IP address ends the walk, and the last trusted hop stands for the client: a header
anyone can write never creates new identities.

Every per-client table (questions a minute, questions at once, the front door, compiles, the
login throttle) keys by `client_key`: an IPv6 address stands for its /64, the allocation of one
home line or office, so rotating addresses inside it makes no new clients.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from ..http_limits import client_key

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOPS = 16  # addresses read from one X-Forwarded-For; a longer chain is not a real proxy path


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """`["10.0.0.5", "192.168.0.0/24"]` as networks; ValueError names a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network") from None
    return tuple(networks)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if len(value) > 45:  # the longest textual IPv6 address
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


class ClientAddresses:
    """The client address of a request, given the proxies trusted to name it."""

    def __init__(self, trusted: Iterable[Network] = ()) -> None:
        self.trusted = tuple(trusted)

    def _is_trusted(self, address: Any) -> bool:
        return address is not None and any(address in network for network in self.trusted)

    def of(self, scope: dict[str, Any]) -> str:
        """The client's address (a string), from the peer and, behind a trusted proxy, the header."""
        peer = (scope.get("client") or ("?", 0))[0]
        if not self.trusted or not self._is_trusted(_address(peer)):
            return peer
        forwarded = [
            value.decode("latin-1") for key, value in scope.get("headers", []) if key == b"x-forwarded-for"
        ]
        hops = [h for value in forwarded for h in value.split(",")][-MAX_HOPS:]
        client = peer
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break
            client = str(address)
            if not self._is_trusted(address):
                break
        return client

    def key(self, scope: dict[str, Any]) -> str:
        """The client's key for every per-client limit (`client_key` of `of`)."""
        return client_key(self.of(scope))

    def is_https(self, scope: dict[str, Any]) -> bool:
        """Whether the client's connection is HTTPS: the server's own scheme, or behind a trusted
        proxy its `X-Forwarded-Proto` (cookies get `Secure` then). Nobody else's header counts."""
        if scope.get("scheme") == "https":
            return True
        peer = (scope.get("client") or ("?", 0))[0]
        if not self.trusted or not self._is_trusted(_address(peer)):
            return False
        values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-proto"]
        last = values[-1].split(",")[-1].strip().lower() if values else ""
        return last == "https"
