"""The SSRF guard of outgoing notifications: a channel may only make this server dial public
addresses (unless ``HEALTH_WEBHOOK_ALLOW_PRIVATE``, on outside production).

Checked twice: when a channel is saved (``check_host``: a clear message next to the field)
and on every connection (the address actually dialled, so a DNS answer that changed since
the save — DNS rebinding — is caught). Webhooks dial through ``open_socket``; Apprise's
plugins call ``requests`` module functions with no session we could hand an adapter to, so
``guarded_connections`` routes urllib3's one connection factory through the same check for
the block it wraps (a context variable: nothing else in the process is affected).
"""

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import urllib3.util.connection
from django.conf import settings
from django.core.exceptions import ValidationError


class PrivateAddress(OSError):
    """The host resolved to an address the SSRF guard refuses."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return ip.is_global and not ip.is_multicast


def check_host(host: str, port: int, *, field: str = "url") -> None:
    """Save time: outside development/tests no private, loopback or link-local target."""
    if settings.HEALTH_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port)}
    except OSError:
        raise ValidationError({field: f"{host} does not resolve."}) from None
    for address in addresses:
        if not is_public(address):
            ip = address.split("%")[0]
            raise ValidationError({field: f"{host} points at a private address ({ip})."})


def _resolve_checked(host: str, port: int) -> list[tuple]:
    """Every address ``host`` resolves to now, refused whole if one of them is private."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not settings.HEALTH_WEBHOOK_ALLOW_PRIVATE:
        for *_, sockaddr in infos:
            if not is_public(sockaddr[0]):
                raise PrivateAddress(f"{host} points at a private address ({sockaddr[0]})")
    return infos


def open_socket(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to ``host`` after checking every address it resolves to now; the
    connection goes to the very address that was checked."""
    infos = _resolve_checked(host, port)
    error: OSError = OSError(f"{host} does not resolve")
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise error


# --- urllib3's connections (Apprise → requests → urllib3) ------------------------------------

_guarding: ContextVar[bool] = ContextVar("ssrf_guarding", default=False)
_unguarded = urllib3.util.connection.create_connection


def _create_connection(address, *args, **kwargs) -> socket.socket:
    """urllib3's connection factory; inside ``guarded_connections`` it dials only checked
    addresses (TLS still verifies the host name: urllib3 wraps the socket afterwards with
    ``server_hostname`` = the URL's host)."""
    if not _guarding.get():
        return _unguarded(address, *args, **kwargs)
    host, port = address
    error: OSError = OSError(f"{host} does not resolve")
    for *_, sockaddr in _resolve_checked(host, port):
        try:
            return _unguarded((sockaddr[0], port), *args, **kwargs)
        except OSError as exc:
            error = exc
    raise error


@contextmanager
def guarded_connections() -> Iterator[None]:
    """HTTP connections that urllib3 (and so ``requests``) opens in this block, in this
    thread, pass the SSRF guard: redirects and hosts a plugin discovers on its own too."""
    if urllib3.util.connection.create_connection is not _create_connection:
        # urllib3.connection looks the factory up on this module at each connection.
        urllib3.util.connection.create_connection = _create_connection
    token = _guarding.set(True)
    try:
        yield
    finally:
        _guarding.reset(token)
