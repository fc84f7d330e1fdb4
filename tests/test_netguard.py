"""The test suite's network guard (tests/netguard): no name is resolved, only loopback is reached.

These tests never send a packet to another machine, even if the guard were broken: every
refusal test first checks that the guard is installed, replaces the real socket functions that the
guard would call with fakes that fail the test, uses closed sockets where it opens one (a closed
socket cannot send), and targets TEST-NET addresses (192.0.2.0/24, 2001:db8::/32) with short
timeouts. No name is ever handed to the real resolver.
"""

from __future__ import annotations

import _socket
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import course_netguard
import pytest
from course_netguard import NetworkBlockedError, ResolutionBlockedError

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["example.com", "localhost.example.com", "127.0.0.1.nip.io", "127.1", "<broadcast>"]
REMOTE = [("192.0.2.1", 80), ("127.0.0.1.nip.io", 80), ("localhost.example.com", 80), ("", 80)]


@pytest.fixture
def real_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace every real function behind the guard with a fake that records the call and raises."""
    assert course_netguard.installed(), "conftest.py did not install the network guard"
    calls: list[str] = []

    def fake(name: str):
        def call(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"the guard let {name}{args!r} through")
        return call

    for name in list(course_netguard._REAL):
        monkeypatch.setitem(course_netguard._REAL, name, fake(name))
    return calls


def _closed(family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM, raw: bool = False):
    """A closed socket: if the guard failed, the real call would fail on it without sending."""
    s = (_socket.socket if raw else socket.socket)(family, kind)
    s.close()
    return s


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lookup", [
    lambda n: socket.getaddrinfo(n, 80),
    lambda n: _socket.getaddrinfo(n, 80),
    lambda n: socket.gethostbyname(n),
    lambda n: _socket.gethostbyname(n),
    lambda n: socket.gethostbyname_ex(n),
    lambda n: _socket.gethostbyname_ex(n),
    lambda n: socket.gethostbyaddr(n),
    lambda n: _socket.gethostbyaddr(n),
], ids=["getaddrinfo", "_socket.getaddrinfo", "gethostbyname", "_socket.gethostbyname",
        "gethostbyname_ex", "_socket.gethostbyname_ex", "gethostbyaddr", "_socket.gethostbyaddr"])
def test_names_are_never_resolved(real_calls, lookup, name):
    with pytest.raises(ResolutionBlockedError, match="network access blocked by the test suite"):
        lookup(name)
    assert real_calls == []


def test_remote_addresses_are_not_looked_up_either(real_calls):
    for lookup in (socket.getaddrinfo, socket.gethostbyname, socket.gethostbyaddr):
        with pytest.raises(socket.gaierror):  # a ResolutionBlockedError is a gaierror too
            lookup("192.0.2.1", *([80] if lookup is socket.getaddrinfo else []))
    with pytest.raises(ResolutionBlockedError):
        socket.getnameinfo(("192.0.2.1", 80), 0)
    assert socket.getfqdn("example.com") == "example.com"  # getfqdn's offline fallback still works
    assert real_calls == []


def test_localhost_and_loopback_resolve_without_the_resolver(monkeypatch):
    real = course_netguard._REAL["getaddrinfo"]

    def numeric_only(host, port, family=0, type=0, proto=0, flags=0):
        assert flags & socket.AI_NUMERICHOST and host in ("127.0.0.1", "::1", "127.0.0.2"), host
        return real(host, port, family, type, proto, flags)

    monkeypatch.setitem(course_netguard._REAL, "getaddrinfo", numeric_only)
    assert ("127.0.0.1", 80) in [ai[4] for ai in socket.getaddrinfo("localhost", 80, socket.AF_INET)]
    assert socket.getaddrinfo("127.0.0.2", 80, socket.AF_INET)[0][4] == ("127.0.0.2", 80)
    assert socket.gethostbyname("localhost") == "127.0.0.1"
    assert socket.gethostbyname_ex("localhost") == ("localhost", [], ["127.0.0.1"])
    assert socket.gethostbyaddr("127.0.0.1") == ("localhost", [], ["127.0.0.1"])


@pytest.mark.parametrize("address", REMOTE + [("2001:db8::1", 80, 0, 0), ("::ffff:192.0.2.1", 80, 0, 0)])
@pytest.mark.parametrize("operation", [
    "connect", "connect_ex", "udp sendto", "udp sendto flags", "udp sendmsg", "create_connection",
    "_socket connect", "_socket sendto",
])
def test_connections_and_datagrams_to_other_machines_are_refused(real_calls, operation, address):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with pytest.raises(NetworkBlockedError, match="network access blocked by the test suite"):
        if operation == "connect":
            _closed(family).connect(address)
        elif operation == "connect_ex":
            _closed(family).connect_ex(address)
        elif operation == "udp sendto":
            _closed(family, socket.SOCK_DGRAM).sendto(b"x", address)
        elif operation == "udp sendto flags":
            _closed(family, socket.SOCK_DGRAM).sendto(b"x", 0, address)
        elif operation == "udp sendmsg":
            _closed(family, socket.SOCK_DGRAM).sendmsg([b"x"], [], 0, address)
        elif operation == "create_connection":
            socket.create_connection(address[:2], timeout=0.1)
        elif operation == "_socket connect":
            _closed(family, raw=True).connect(address)
        elif operation == "_socket sendto":
            _closed(family, socket.SOCK_DGRAM, raw=True).sendto(b"x", address)
    assert real_calls == []


def test_binding_to_a_name_is_refused(real_calls):
    """Binding sends nothing, but the C layer would resolve a host name."""
    with pytest.raises(NetworkBlockedError):
        _closed().bind(("example.com", 0))
    assert real_calls == []


def test_raw_packet_sockets_are_refused(real_calls):
    family = getattr(socket, "AF_PACKET", None)
    if family is None:
        pytest.skip("no AF_PACKET on this platform")
    with pytest.raises(NetworkBlockedError):
        course_netguard.check_address(family, ("eth0", 0), "sendto")
    assert real_calls == []


def test_the_underlying_socket_type_is_guarded():
    assert _socket.socket is _socket.SocketType is course_netguard.GuardedSocket


def _listener(kind: int = socket.SOCK_STREAM) -> socket.socket:
    server = socket.socket(socket.AF_INET, kind)
    server.bind(("127.0.0.1", 0))
    if kind == socket.SOCK_STREAM:
        server.listen(4)
    server.settimeout(10)
    return server


def test_loopback_still_works_in_process():
    with _listener() as server:
        port = server.getsockname()[1]
        for host in ("127.0.0.1", "localhost"):
            with socket.create_connection((host, port), timeout=5) as client:
                conn, _ = server.accept()
                with conn:
                    client.sendall(b"ping")
                    assert conn.recv(4) == b"ping"
        raw = _socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            assert raw.connect_ex(("localhost", port)) == 0
            server.accept()[0].close()
        finally:
            raw.close()
    with _listener(socket.SOCK_DGRAM) as server, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.sendto(b"udp", server.getsockname())
        client.sendmsg([b"msg"], [], 0, ("localhost", server.getsockname()[1]))
        assert server.recv(3) == b"udp" and server.recv(3) == b"msg"


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter with the environment the tests give every process."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env={**os.environ, **env})


# The child refuses to go on unless the guard is installed, and fakes the real functions first.
CHILD_PREAMBLE = """
    import socket, sys
    import course_netguard
    if not course_netguard.installed():
        sys.exit("the guard is not installed in this process")
    def fake(*args, **kwargs):
        sys.exit("the guard let a call through")
    for name in list(course_netguard._REAL):
        course_netguard._REAL[name] = fake
"""


def test_subprocesses_are_guarded_too():
    assert os.environ["COURSE_NO_NETWORK"] == "1"
    assert os.environ["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT / "tests" / "netguard")
    child = _python(CHILD_PREAMBLE + """
    try:
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)
    except course_netguard.NetworkBlockedError as exc:
        print("refused:", exc)
    """)
    assert child.returncode == 0, child.stderr
    assert "refused: network access blocked by the test suite: create_connection to ('192.0.2.1', 80)" in child.stdout


def test_loopback_still_works_from_a_subprocess():
    with _listener() as server:
        child = _python(f"""
        import socket, course_netguard
        assert course_netguard.installed()
        with socket.create_connection(("127.0.0.1", {server.getsockname()[1]}), timeout=5) as s:
            s.sendall(b"hello from the child")
        """)
        assert child.returncode == 0, child.stderr
        conn, _ = server.accept()
        with conn:
            assert conn.recv(64) == b"hello from the child"


def test_a_shadowed_sitecustomize_still_runs(tmp_path):
    """A virtual environment's own sitecustomize (later on the path) runs after the guard is installed."""
    (tmp_path / "sitecustomize.py").write_text(
        "import course_netguard, os\nos.environ['SHADOWED_RAN'] = str(course_netguard.installed())\n")
    path = os.pathsep.join([os.environ["PYTHONPATH"], str(tmp_path)])
    child = _python("import os; print(os.environ.get('SHADOWED_RAN'))", PYTHONPATH=path)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "True"


def test_notebook_kernels_are_guarded(tmp_path):
    """A notebook kernel (started as nbval and tools/notebooks.py start them) has the guard, and still runs."""
    import nbformat

    from tools.notebooks import execute, kernel_env

    code = CHILD_PREAMBLE.replace("sys.exit(", "raise SystemExit(") + """
    try:
        socket.getaddrinfo("example.com", 443)
    except course_netguard.NetworkBlockedError:
        print("kernel guarded")
    """
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(code))])
    nb, _, error = execute(nb, cwd=tmp_path, env=kernel_env(threads=1, inline_figures=False), timeout=120)
    assert error is None, error
    assert "kernel guarded" in "".join(out.get("text", "") for out in nb.cells[0].outputs)
