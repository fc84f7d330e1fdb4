"""The course's network guard: refuse every network access except loopback, resolve no names.

One module, used in three places:

* the grader (``course_lib.grade``) installs it in the process of every submission it runs;
* the test suite's ``conftest.py`` calls :func:`install` in the pytest process (and its xdist
  workers), through ``tests/netguard/course_netguard.py``, which loads this file by path;
* ``tests/netguard/sitecustomize.py`` calls :func:`install` at start-up of every Python process the
  tests start (CLI runs, notebook kernels, ``make lab``), because conftest puts that folder first
  on ``PYTHONPATH`` and sets ``COURSE_NO_NETWORK=1`` in the environment those processes inherit.

This module imports nothing from ``course_lib`` (and so no torch): it can be loaded on its own.

What passes:

* connections and datagrams (``connect``, ``connect_ex``, ``sendto``, ``sendmsg``,
  ``create_connection``) to loopback addresses only: 127.0.0.0/8, ::1 (also IPv4-mapped), and the
  literal name ``'localhost'``, which is rewritten to 127.0.0.1 / ::1 so the resolver is never asked;
* ``bind`` to loopback or to the wildcard address (a listening socket sends nothing);
* name look-ups (``getaddrinfo``, ``gethostbyname[_ex]``, ``gethostbyaddr``, ``getnameinfo``) of
  ``'localhost'`` and numeric loopback addresses, answered without the resolver;
* Unix-domain and netlink sockets (they never leave the machine).

Everything else raises :class:`NetworkBlockedError` *before* the real socket function runs.
Addresses are parsed with :mod:`ipaddress`, never compared as strings: ``'127.0.0.1.nip.io'`` and
``'localhost.example.com'`` are names (refused), not loopback.

Both layers are patched: the Python ``socket`` module (its functions and ``socket.socket``'s
methods) and the C module ``_socket`` underneath (its functions, and ``_socket.socket`` replaced by
a guarded subclass, because the C type itself cannot be modified). Code that grabbed a function
before :func:`install` (``from socket import gethostbyname``) keeps the unguarded one; in the
processes started by the tests the guard is installed before any such import.

Not covered: native code that opens sockets without Python's ``socket`` module (libzmq, which the
Jupyter kernels use over loopback; PyTorch's c10d), programs that are not Python (``curl``, ``git``),
and interpreters started with ``-I``, ``-E`` or ``-S`` (they ignore ``PYTHONPATH`` or skip ``site``).
"""

from __future__ import annotations

import _socket
import os
from collections.abc import Callable
from typing import Any

#: environment variable that makes ``sitecustomize`` install the guard in a new process
ENV_VAR = "COURSE_NO_NETWORK"

#: the functions the guard calls once it has allowed an operation (filled by :func:`install`).
#: Tests replace entries with fakes, so that a guard that wrongly let something through would
#: call the fake instead of sending a packet.
_REAL: dict[str, Callable[..., Any]] = {}

_ORIGINAL_SOCKET_TYPE: type = _socket.socket
_LOOPBACK_LITERAL = {_socket.AF_INET: "127.0.0.1", _socket.AF_INET6: "::1"}
# Families whose addresses never leave the machine (AF_UNIX paths, kernel netlink channels).
_LOCAL_FAMILIES = {getattr(_socket, name) for name in ("AF_UNIX", "AF_NETLINK") if hasattr(_socket, name)}
_installed = False


class NetworkBlockedError(OSError):
    """A test, or a process it started, tried to reach another machine or to resolve a name.

    An :class:`OSError`, like the errors of a machine without network, so that code with an
    offline fallback (``except OSError``) takes it, as it would on a student's offline laptop.
    """


class ResolutionBlockedError(NetworkBlockedError, _socket.gaierror):
    """A name look-up the guard refused (also a :class:`socket.gaierror`, like a failed look-up)."""


def _message(action: str, target: object) -> str:
    return (
        f"network access blocked by the test suite: {action} {target!r}. Tests must run offline: only "
        "loopback addresses (127.0.0.0/8, ::1 and the name 'localhost') are allowed and no other name "
        f"is resolved. If the code under test needs data, bundle it or fake the download "
        f"(guard: tests/netguard/course_netguard.py, switched on by {ENV_VAR}=1 from conftest.py)."
    )


def _host_text(host: object) -> str | None:
    """``host`` as text (``None`` stays ``None``; undecodable bytes become a name that is refused)."""
    if host is None or isinstance(host, str):
        return host
    if isinstance(host, (bytes, bytearray)):
        return bytes(host).decode("ascii", errors="replace")
    return repr(host)


def classify(host: str) -> str:
    """What ``host`` is: ``"localhost"``, ``"loopback"``, ``"unspecified"``, ``"remote"`` or ``"name"``.

    Only numbers parsed by :mod:`ipaddress` count as addresses; anything else is a name, however
    it starts (``"127.0.0.1.nip.io"`` is a name). Shorthand forms that the C library would accept
    (``"127.1"``) are names too: the guard errs on the side of refusing.
    """
    import ipaddress  # here, not at the top: keeps the start-up of every guarded process cheap

    if host == "":
        return "unspecified"  # INADDR_ANY for bind
    if host.lower() == "localhost":
        return "localhost"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "name"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        return "unspecified"
    return "remote"


def check_address(family: int, address: Any, action: str, allow_unspecified: bool = False) -> Any:
    """The address to hand to the real socket call, or :class:`NetworkBlockedError`.

    ``'localhost'`` is rewritten to the loopback literal of the socket's family, so that the C
    layer does not ask the resolver for it.
    """
    family = int(family)
    if family in _LOCAL_FAMILIES:
        return address
    if family not in _LOOPBACK_LITERAL:  # AF_PACKET, AF_BLUETOOTH, AF_VSOCK, ...: may leave the machine
        raise NetworkBlockedError(_message(f"{action} (address family {family})", address))
    if not isinstance(address, tuple) or not address:
        raise NetworkBlockedError(_message(action, address))
    kind = classify(_host_text(address[0]) or "")
    if kind == "localhost":
        return (_LOOPBACK_LITERAL[family], *address[1:])
    if kind == "loopback" or (allow_unspecified and kind == "unspecified"):
        return address
    raise NetworkBlockedError(_message(action, address))


# --------------------------------------------------------------------------- socket methods
# Plain functions, used both as methods of the guarded ``_socket.socket`` subclass and assigned
# onto the Python ``socket.socket`` class.

def _connect(self: Any, address: Any) -> None:
    return _REAL["connect"](self, check_address(self.family, address, "connect to"))


def _connect_ex(self: Any, address: Any) -> int:
    return _REAL["connect_ex"](self, check_address(self.family, address, "connect_ex to"))


def _sendto(self: Any, data: Any, *args: Any) -> int:
    # sendto(data, address) or sendto(data, flags, address): the address is always last
    if not args:
        return _REAL["sendto"](self, data)  # let the real call raise its TypeError
    address = check_address(self.family, args[-1], "sendto")
    return _REAL["sendto"](self, data, *args[:-1], address)


def _sendmsg(self: Any, buffers: Any, *args: Any) -> int:
    # sendmsg(buffers[, ancdata[, flags[, address]]]): without an address the socket is already
    # connected, which the guarded connect allowed
    if len(args) >= 3 and args[2] is not None:
        args = (*args[:2], check_address(self.family, args[2], "sendmsg to"), *args[3:])
    return _REAL["sendmsg"](self, buffers, *args)


def _bind(self: Any, address: Any) -> None:
    # Binding sends nothing, but a host *name* would be resolved by the C layer.
    return _REAL["bind"](self, check_address(self.family, address, "bind to", allow_unspecified=True))


_METHODS: dict[str, Callable[..., Any]] = {
    "connect": _connect, "connect_ex": _connect_ex, "sendto": _sendto, "sendmsg": _sendmsg, "bind": _bind,
}


class GuardedSocket(_ORIGINAL_SOCKET_TYPE):
    """``_socket.socket`` with the guarded methods; replaces it in the ``_socket`` module.

    No ``__slots__`` entries: the C type has no ``__dict__`` or ``__weakref__``, and
    ``socket.socket`` (a subclass of this one in guarded processes) declares ``__weakref__`` itself.
    """

    __slots__ = ()
    connect = _connect
    connect_ex = _connect_ex
    sendto = _sendto
    sendmsg = _sendmsg
    bind = _bind


# --------------------------------------------------------------------------- module functions

def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> list:
    """``getaddrinfo`` for ``None``, ``'localhost'`` and numeric loopback/wildcard hosts only."""
    text = _host_text(host)
    real = _REAL["getaddrinfo"]
    if text is None or text == "":
        return real(None, port, family, type, proto, flags)  # no host: loopback or wildcard, no look-up
    kind = classify(text)
    numeric = flags | _socket.AI_NUMERICHOST  # the C library must not fall back to the resolver
    if kind == "localhost":
        results: list = []
        for fam, literal in _LOOPBACK_LITERAL.items():
            if family in (_socket.AF_UNSPEC, fam):
                try:
                    results += real(literal, port, fam, type, proto, numeric)
                except _socket.gaierror:
                    if family == fam:  # asked for this family only (e.g. IPv6 off): report it
                        raise
        return results
    if kind in ("loopback", "unspecified"):
        return real(text, port, family, type, proto, numeric)
    raise ResolutionBlockedError(_message("getaddrinfo", host))


def _loopback_ipv4(name: Any, action: str) -> str:
    """The IPv4 loopback address that ``name`` stands for, without asking the resolver."""
    text = _host_text(name) or ""
    kind = classify(text)
    if kind == "localhost":
        return "127.0.0.1"
    if kind == "loopback" and ":" not in text:
        return text
    raise ResolutionBlockedError(_message(action, name))


def gethostbyname(name: Any) -> str:
    return _loopback_ipv4(name, "gethostbyname")


def gethostbyname_ex(name: Any) -> tuple[str, list[str], list[str]]:
    address = _loopback_ipv4(name, "gethostbyname_ex")
    primary = "localhost" if classify(_host_text(name) or "") == "localhost" else address
    return primary, [], [address]


def gethostbyaddr(address: Any) -> tuple[str, list[str], list[str]]:
    text = _host_text(address) or ""
    kind = classify(text)
    if kind == "localhost":
        return "localhost", [], ["127.0.0.1"]
    if kind == "loopback":
        return "localhost", [], [text]
    raise ResolutionBlockedError(_message("gethostbyaddr", address))


def getnameinfo(sockaddr: Any, flags: int) -> tuple[str, str]:
    host = _host_text(sockaddr[0]) if isinstance(sockaddr, tuple) and sockaddr else None
    if host is None or classify(host) != "loopback":
        raise ResolutionBlockedError(_message("getnameinfo", sockaddr))
    # numeric answer: a reverse look-up of a loopback address would still consult the resolver
    return _REAL["getnameinfo"](sockaddr, flags | _socket.NI_NUMERICHOST)


def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
    """``socket.create_connection`` to loopback only (checked before any look-up or socket)."""
    if not isinstance(address, tuple) or len(address) < 2 or \
            classify(_host_text(address[0]) or "name?") not in ("localhost", "loopback"):
        raise NetworkBlockedError(_message("create_connection to", address))
    return _REAL["create_connection"](address, *args, **kwargs)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "getaddrinfo": getaddrinfo, "gethostbyname": gethostbyname, "gethostbyname_ex": gethostbyname_ex,
    "gethostbyaddr": gethostbyaddr, "getnameinfo": getnameinfo,
}


# --------------------------------------------------------------------------- install

def install() -> None:
    """Guard this process (idempotent). Call as early as possible: before other imports of ``socket``."""
    global _installed
    if _installed:
        return
    for name in _METHODS:
        _REAL[name] = getattr(_ORIGINAL_SOCKET_TYPE, name)
    for name in _FUNCTIONS:
        _REAL[name] = getattr(_socket, name)
    # Replace the C type in its module first: a ``socket`` module imported after this subclasses it.
    _socket.socket = _socket.SocketType = GuardedSocket  # type: ignore[misc]  # the swap is the point
    for name, function in _FUNCTIONS.items():
        setattr(_socket, name, function)

    import socket  # after the swap above, on purpose

    _REAL["create_connection"] = socket.create_connection
    socket.create_connection = create_connection
    for name, method in _METHODS.items():  # socket.socket may predate the swap (e.g. under pytest)
        setattr(socket.socket, name, method)
    for name, function in _FUNCTIONS.items():
        if name != "getaddrinfo":  # socket.getaddrinfo is a Python wrapper around _socket.getaddrinfo
            setattr(socket, name, function)
    socket.SocketType = GuardedSocket
    _installed = True


def installed() -> bool:
    """True when every patch of :func:`install` is in place in this process."""
    import socket

    return (
        _installed
        and _socket.socket is GuardedSocket
        and socket.create_connection is create_connection
        and all(getattr(socket.socket, name) is method for name, method in _METHODS.items())
        and all(getattr(_socket, name) is function for name, function in _FUNCTIONS.items())
        and all(getattr(socket, name) is function for name, function in _FUNCTIONS.items() if name != "getaddrinfo")
    )


def enabled_by_environment() -> bool:
    """Whether ``COURSE_NO_NETWORK=1`` asks for the guard (what ``sitecustomize`` checks)."""
    return os.environ.get(ENV_VAR) == "1"
