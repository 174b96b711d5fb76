"""HTTP to a source's address, refused when the address is inside a private network.

A source is an address a customer typed; fetched from our servers, an address such as
10.0.0.5, 169.254.169.254 (the cloud's metadata server) or localhost would read our own
network for them. Every hop is checked, redirects included (they are followed here, one by
one, not by requests), and only public addresses pass, save the networks that
CONNECTOR_ALLOWED_PRIVATE_NETWORKS lists (the tests' and local development's own machine).

The check resolves the name and then requests connects by resolving it again; a name whose
answer changes between the two (DNS rebinding) is not caught here. An egress proxy or
firewall that refuses private ranges is the complete answer in production (infra/)."""

import ipaddress
import socket
from email.utils import parsedate_to_datetime
from functools import cache
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from connectors.sources import RateLimited, SourceUnavailable

MAX_REDIRECTS = 5
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(SourceUnavailable):
    pass


@cache
def _allowed_networks(
    listed: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in listed)


def _address_public_enough(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_global and not address.is_multicast:
        return True
    allowed = _allowed_networks(tuple(settings.CONNECTOR_ALLOWED_PRIVATE_NETWORKS))
    return any(address in network for network in allowed)


def address_ensure_public(url: str) -> None:
    """Refuse (AddressRefused, with a sentence) a URL that is not http(s) or whose host
    resolves to any address that is not public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused(f"“{url}” is not a web address (http:// or https://).")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise AddressRefused(f"“{parts.hostname}” could not be found.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not _address_public_enough(address):
            raise AddressRefused(
                f"“{parts.hostname}” is a private or local address ({address}); only "
                "addresses on the public internet can be synced."
            )


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date; None if absent or odd."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def guarded_get(
    session: requests.Session, url: str, *, headers: dict[str, str] | None = None
) -> requests.Response:
    """GET `url`, following redirects one by one with every address checked; the
    response's `url` is where it ended. A 429 raises RateLimited; a network failure,
    SourceUnavailable."""
    for _hop in range(MAX_REDIRECTS + 1):
        address_ensure_public(url)
        try:
            response = session.get(
                url,
                headers={"User-Agent": settings.CONNECTOR_USER_AGENT, **(headers or {})},
                allow_redirects=False,
                timeout=settings.CONNECTOR_HTTP_TIMEOUT_SECONDS,
            )
        except requests.RequestException as error:
            raise SourceUnavailable(
                f"“{urlsplit(url).hostname}” could not be reached ({type(error).__name__})."
            ) from None
        if response.status_code == 429:
            raise RateLimited(retry_after_seconds(response.headers.get("Retry-After")))
        if response.is_redirect and response.headers.get("Location"):
            url = urljoin(url, response.headers["Location"])
            response.close()
            continue
        return response
    raise SourceUnavailable(f"“{url}” redirects more than {MAX_REDIRECTS} times.")
