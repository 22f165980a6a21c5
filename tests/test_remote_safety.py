"""Credentials go only where the user pointed `kg`: redirects, URLs with passwords, messages,
clear text. Two loopback servers on different ports are two origins; the second one records
what reaches it.
"""

from __future__ import annotations

import base64
import socket
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgtools.cli import cli
from kgtools.errors import EndpointRedirectError, InsecureCredentialsWarning, RemoteError
from kgtools.store.remote import check_url, insecure_credentials, request, resolve_endpoints, shown

from .conftest import QuietHandler, examples, loopback_server, respond

USER, PASSWORD = "alice", "s3cr3t-Zq9/é:x?"
CREDENTIALS = {"KG_ENDPOINT_USER": USER, "KG_ENDPOINT_PASSWORD": PASSWORD}
TOKEN = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def secret_forms(password: str) -> list[str]:
    """Every form in which a password could leak into a message."""
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    return [
        password,
        urllib.parse.quote(password, safe=""),
        urllib.parse.quote(password),
        urllib.parse.quote_plus(password),
        token,
    ]


def assert_no_secret(text: str, password: str = PASSWORD) -> None:
    for form in secret_forms(password):
        assert form not in text, f"a credential ({form!r}) is shown: {text}"


class Recorder(QuietHandler):
    """Answers /final with 200 "ok" and every other path with ``status`` to ``location``;
    records (method, path, Authorization) of every request."""

    status: ClassVar[int] = 302
    location: ClassVar[str] = "/final"
    seen: ClassVar[list[tuple[str, str, str | None]]]
    echo: ClassVar[bool] = False

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        auth = self.headers.get("Authorization")
        self.seen.append((self.command, self.path, auth))
        if self.echo:  # a hostile server that quotes the credentials back
            decoded = base64.b64decode((auth or "Basic ").split()[1]).decode()
            return respond(self, 500, f"bad request from {auth} ({decoded})".encode())
        if self.path == "/final":
            return respond(self, 200, b"ok")
        return respond(self, self.status, b"moved", {"Location": self.location})

    do_GET = do_POST = do_PUT = do_HEAD = _answer


def recorder() -> type[Recorder]:
    return type("R", (Recorder,), {"seen": []})


@pytest.fixture
def two_origins() -> Iterator[tuple[str, type[Recorder], str, type[Recorder]]]:
    first, second = recorder(), recorder()
    with loopback_server(first) as a, loopback_server(second) as b:
        yield a, first, b, second


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every host name looked up; anything but loopback fails here and never reaches a network."""
    looked: list[str] = []
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        looked.append(str(host))
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, "blocked by the test: not loopback")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return looked


def kg(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    env = env if env is not None else CREDENTIALS
    result = CliRunner().invoke(cli, list(args), env=dict(env))
    assert "Traceback" not in result.output, result.output
    return result


# -- redirects ----------------------------------------------------------------------------------
SAME_ORIGIN: list[Callable[[str, str], str]] = [
    lambda a, b: "/final",
    lambda a, b: "final",
    lambda a, b: f"{a}/final",
    lambda a, b: "//" + a.split("//")[1] + "/final",
    lambda a, b: a.upper().replace("HTTP://", "http://") + "/final",  # host case is not origin
]
REFUSED: list[Callable[[str, str], str]] = [
    lambda a, b: f"{b}/final",  # another port
    lambda a, b: "//" + b.split("//")[1] + "/final",
    lambda a, b: a.replace("127.0.0.1", "localhost") + "/final",  # another host name
    lambda a, b: a.replace("http:", "https:") + "/final",  # another scheme
    lambda a, b: f"http://{a.split('//')[1]}@{b.split('//')[1]}/final",  # userinfo trick
    lambda a, b: f"http://bob:hunter2@{b.split('//')[1]}/final",
    lambda a, b: f"http://bob:hunter2@{a.split('//')[1]}/final",  # same origin, but userinfo
    lambda a, b: f"ftp://{b.split('//')[1]}/final",
    lambda a, b: "file:///etc/passwd",
    lambda a, b: "javascript:alert(1)",
]
CODES = (301, 302, 303, 307, 308)


def test_redirects_never_carry_credentials_elsewhere(
    two_origins: tuple[str, type[Recorder], str, type[Recorder]], credentials: None
) -> None:
    a, first, b, second = two_origins
    assert len(SAME_ORIGIN) == 5 and len(REFUSED) == 10  # the family cannot shrink quietly
    cases = 0
    for code in CODES:
        for method in ("GET", "HEAD", "POST", "PUT"):
            data = b"<s> <p> <o> ." if method in ("POST", "PUT") else None
            for make in SAME_ORIGIN + REFUSED:
                cases += 1
                first.seen.clear()
                second.seen.clear()
                first.status, first.location = code, make(a, b)
                case = f"{method} {code} to {first.location}"
                if make in SAME_ORIGIN and method in ("GET", "HEAD"):
                    body = request(method, f"{a}/start", data=data, timeout=5)
                    assert body == (b"" if method == "HEAD" else b"ok"), case
                    assert [(m, p) for m, p, _ in first.seen] == [
                        (method, "/start"),
                        (method, "/final"),
                    ], case
                    assert all(auth == f"Basic {TOKEN}" for _, _, auth in first.seen), case
                else:
                    with pytest.raises(EndpointRedirectError) as caught:
                        request(method, f"{a}/start", data=data, timeout=5)
                    message = str(caught.value)
                    assert f"HTTP {code}" in message and "give that URL" in message, case
                    assert_no_secret(message)
                    assert "hunter2" not in message, case
                    assert [p for _, p, _ in first.seen] == ["/start"], case
                assert second.seen == [], f"{case}: reached another origin"
    assert cases == 5 * 4 * 15


def test_redirect_loops_within_the_origin_are_bounded(
    two_origins: tuple[str, type[Recorder], str, type[Recorder]], credentials: None
) -> None:
    a, first, _, _ = two_origins
    first.status, first.location = 302, "/again"
    with pytest.raises(RemoteError) as caught:
        request("GET", f"{a}/again", timeout=5)
    assert "HTTP 302" in str(caught.value)
    assert 2 <= len(first.seen) <= 11


def test_cli_query_and_push_do_not_follow_a_redirect_to_another_server(
    two_origins: tuple[str, type[Recorder], str, type[Recorder]], out_dir: str
) -> None:
    a, first, b, second = two_origins
    for code in CODES:
        first.status, first.location = code, f"{b}/final"
        query = CliRunner().invoke(
            cli,
            ["query", "-", "--endpoint", f"{a}/sparql"],
            input="SELECT * WHERE { ?s ?p ?o }",
            env=CREDENTIALS,
        )
        push = kg("push", "--endpoint", f"{a}/query", "--out-dir", out_dir)
        for result in (query, push):
            assert result.exit_code == 2, result.output
            assert "Traceback" not in result.output
            assert f"redirects (HTTP {code}) to {b}/final" in result.output
            assert_no_secret(result.output)
        assert second.seen == []


@pytest.fixture(scope="module")
def out_dir(built: tuple[Any, Any]) -> str:
    return str(built[0])


# -- credentials in URLs ------------------------------------------------------------------------
SHAPES: list[Callable[[str, str], str]] = [
    lambda u, p: f"http://{u}:{p}@127.0.0.1:1/sparql",
    lambda u, p: f"https://{u}:{urllib.parse.quote(p, safe='')}@example.org/sparql",
    lambda u, p: f"http://{u}:{urllib.parse.quote(p)}@example.org:8890/sparql",
    lambda u, p: f"http://{u}:{p}@example.org",
    lambda u, p: f"http://{p}@example.org/",
    lambda u, p: f"http:{u}:{p}@example.org/",
    lambda u, p: f"//{u}:{p}@example.org/",
    lambda u, p: f"HTTP://{u}:{p}@127.0.0.1:7878",
    lambda u, p: f"http://{u}:{p}@{u}:{p}@example.org/",
]
PASSWORDS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
).map(lambda s: "Zq9" + s)


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(password=PASSWORDS, shape=st.sampled_from(SHAPES), option=st.integers(0, 3))
def test_a_password_in_a_url_is_refused_and_never_shown(
    lookups: list[str], password: str, shape: Callable[[str, str], str], option: int
) -> None:
    assert len(SHAPES) == 9
    url = shape("alice", password)
    args = [
        ("query", "cashless", "--endpoint", url),
        ("network", "--stats", "--endpoint", url),
        ("push", "--endpoint", url),
        ("push", "--endpoint", "http://127.0.0.1:1", "--store-endpoint", url),
    ][option]
    result = kg(*args, env={"KG_ENDPOINT_USER": None, "KG_ENDPOINT_PASSWORD": None})
    assert result.exit_code == 2, result.output
    assert "KG_ENDPOINT_USER" in result.output and "KG_ENDPOINT_PASSWORD" in result.output
    assert_no_secret(result.output, password)
    assert lookups == [], "nothing may be looked up for a refused URL"
    assert password not in shown(url) and urllib.parse.quote(password) not in shown(url)


def test_update_endpoint_with_a_password_is_refused() -> None:
    with pytest.raises(RemoteError) as caught:
        resolve_endpoints("http://127.0.0.1:1", update_endpoint=f"http://a:{PASSWORD}@h/update")
    assert "--update-endpoint" in str(caught.value) and "KG_ENDPOINT_USER" in str(caught.value)
    assert_no_secret(str(caught.value))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1:1/store",
        "file:///tmp/store",
        "127.0.0.1:7878/store",
        "/store",
        "javascript:alert(1)",
        "http://",
        "http:///store",
        "http://127.0.0.1:port/store",
        "http://127.0.0.1:1/st ore",
        "http://[::1/store",
    ],
)
def test_store_endpoint_is_http_only(url: str) -> None:
    result = kg("push", "--endpoint", "http://127.0.0.1:1", "--store-endpoint", url)
    assert result.exit_code == 2, result.output
    assert "bad --store-endpoint" in result.output
    with pytest.raises(RemoteError):
        check_url(url)


def test_the_servers_text_never_shows_the_password(credentials: None) -> None:
    echo = type("Echo", (Recorder,), {"seen": [], "echo": True})
    with loopback_server(echo) as url:
        for method in ("GET", "POST", "PUT"):
            with pytest.raises(RemoteError) as caught:
                request(method, url + "/x", data=b"" if method != "GET" else None, timeout=5)
            assert "HTTP 500" in str(caught.value) and "bad request from" in str(caught.value)
            assert_no_secret(str(caught.value))


# -- clear text ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://example.org/sparql", True),
        ("http://10.0.0.7:7878/query", True),
        ("http://[2001:db8::1]:7878/query", True),
        ("http://127.0.0.1.example.org/sparql", True),  # a name, not a loopback address
        ("http://localhost.example.org/sparql", True),
        ("HTTP://EXAMPLE.ORG/sparql", True),
        ("https://example.org/sparql", False),
        ("http://127.0.0.1:7878/query", False),
        ("http://127.8.9.10:7878/query", False),
        ("http://localhost:7878/query", False),
        ("http://LOCALHOST:7878/query", False),
        ("http://[::1]:7878/query", False),
    ],
)
def test_credentials_in_clear_text_to_another_host_are_warned(
    monkeypatch: pytest.MonkeyPatch, lookups: list[str], url: str, warned: bool
) -> None:
    monkeypatch.delenv("KG_ENDPOINT_USER", raising=False)
    assert insecure_credentials([url]) == [], "no credentials, nothing to warn about"
    monkeypatch.setenv("KG_ENDPOINT_USER", USER)
    monkeypatch.setenv("KG_ENDPOINT_PASSWORD", PASSWORD)
    assert bool(insecure_credentials([url])) == warned
    if warned:
        with pytest.warns(InsecureCredentialsWarning), pytest.raises(RemoteError):
            request("GET", url, timeout=1)
    result = CliRunner().invoke(
        cli, ["query", "-", "--endpoint", url, "--timeout", "1"], input="ASK {}", env=CREDENTIALS
    )
    assert result.exit_code == 2, result.output
    assert ("warning:" in result.stderr and "clear text" in result.stderr) == warned
    assert "InsecureCredentialsWarning" not in result.output, "printed twice"
    assert_no_secret(result.output)
