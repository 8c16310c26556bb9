"""The client's address: the TCP peer, or what a trusted proxy in front says it is.

`X-Forwarded-For` and `Forwarded` are believed only when the peer is inside one of the
`trusted_proxies` CIDRs; a header from anyone else is ignored (it is trivially spoofed). The chain is
read from the right: each trusted hop is skipped, and the first address that is not a trusted proxy
is the client. Every per-address limit (WebSocket budgets, open sockets, login back-off) uses this.

Uvicorn's own `proxy_headers` must stay off (bot/serve.py): it would rewrite the peer address from the
header before this code sees who really connected.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FOR = re.compile(r'for=("?)\[?([^\]";,]+)\]?(?::\d+)?\1', re.I)


def parse_networks(cidrs: Iterable[str]) -> list[Network]:
    """The setting's CIDRs ("10.0.0.0/8", "127.0.0.1"); raises ValueError naming a bad one."""
    out = []
    for cidr in cidrs:
        try:
            out.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"SUPPORTBOT_TRUSTED_PROXIES has {cidr!r}, which is not an address or CIDR "
                             "(e.g. 10.0.0.0/8)") from exc
    return out


def _ip(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _chain(headers: Mapping[str, str]) -> list[str]:
    """Addresses the proxies recorded, client first (RFC 7239 `Forwarded` wins over `X-Forwarded-For`)."""
    forwarded = headers.get("forwarded")
    if forwarded:
        return [m.group(2) for m in _FOR.finditer(forwarded)]
    xff = headers.get("x-forwarded-for")
    return [part.strip() for part in xff.split(",")] if xff else []


class ClientAddress:
    def __init__(self, trusted: Iterable[str]):
        self.trusted = parse_networks(trusted)

    def is_trusted(self, address: str | None) -> bool:
        ip = _ip(address or "")
        return ip is not None and any(ip in net for net in self.trusted)

    def __call__(self, peer: str | None, headers: Mapping[str, str]) -> str:
        """The client's address for a connection from `peer` carrying `headers`."""
        peer = peer or "unknown"
        if not self.is_trusted(peer):
            return peer
        for hop in reversed(_chain(headers)):
            if _ip(hop) is None:
                return peer  # a garbled chain: trust nothing in it
            if not self.is_trusted(hop):
                return hop
        return peer
