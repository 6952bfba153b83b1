"""A stand-in for GitHub's OAuth and REST endpoints, served on 127.0.0.1.

It answers what social-core's ``GithubOAuth2`` and
``tilemaker_site.accounts.pipeline`` ask:
``/login/oauth/authorize`` (approves at once as ``next_login``),
``/login/oauth/access_token``, ``/user``, ``/user/emails``,
``/user/memberships/orgs/{org}`` and
``/orgs/{org}/teams/{team}/memberships/{user}``. Membership endpoints answer
404 to a token without the ``read:org`` scope, as GitHub hides private
membership then. Every request is recorded for assertions.
"""

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Token:
    login: str
    scopes: frozenset[str]


@dataclass
class GithubStub:
    client_id: str = "stub-client-id"
    client_secret: str = "stub-client-secret"
    accounts: dict[str, int] = field(default_factory=dict)
    # org -> {login: "active" | "pending"}; (org, team) -> {login: state}
    org_members: dict[str, dict[str, str]] = field(default_factory=dict)
    team_members: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    next_login: str | None = None
    # Paths answering 500, to imitate a GitHub outage.
    failing_paths: set[str] = field(default_factory=set)
    requests: list[tuple[str, str]] = field(default_factory=list)
    authorize_queries: list[dict[str, str]] = field(default_factory=list)
    _codes: dict[str, Token] = field(default_factory=dict)
    _tokens: dict[str, Token] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    def add_account(self, login: str) -> None:
        self.accounts.setdefault(login, 1000 + len(self.accounts))

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "GithubStub":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                stub._handle(self, "GET")

            def do_POST(self):
                stub._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- request handling ------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = b""
        if method == "POST":
            body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        self.requests.append((method, parts.path))
        if parts.path in self.failing_paths:
            return self._send(handler, 500, {"message": "Server Error"})
        if method == "GET" and parts.path == "/login/oauth/authorize":
            return self._authorize(handler, query)
        if method == "POST" and parts.path == "/login/oauth/access_token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            return self._access_token(handler, {**query, **form})
        token = self._token_of(handler)
        if token is None:
            return self._send(handler, 401, {"message": "Requires authentication"})
        return self._api(handler, parts.path.strip("/").split("/"), token)

    def _authorize(self, handler, query):
        self.authorize_queries.append(query)
        if query.get("client_id") != self.client_id or self.next_login is None:
            return self._send(handler, 404, {"message": "Not Found"})
        code = secrets.token_hex(8)
        scopes = frozenset(s for s in query.get("scope", "").split(",") if s)
        self._codes[code] = Token(self.next_login, scopes)
        target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
        handler.send_response(302)
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _access_token(self, handler, form):
        if form.get("client_id") != self.client_id or form.get("client_secret") != (
            self.client_secret
        ):
            return self._send(handler, 401, {"error": "incorrect_client_credentials"})
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None:
            # GitHub answers 200 with an error body for a bad or reused code.
            return self._send(handler, 200, {"error": "bad_verification_code"})
        access_token = "gho_" + secrets.token_hex(12)
        self._tokens[access_token] = grant
        scope = ",".join(sorted(grant.scopes))
        return self._send(
            handler, 200, {"access_token": access_token, "token_type": "bearer", "scope": scope}
        )

    def _token_of(self, handler) -> Token | None:
        header = handler.headers.get("Authorization", "")
        for prefix in ("token ", "Bearer "):
            if header.startswith(prefix):
                return self._tokens.get(header[len(prefix) :])
        return None

    def _api(self, handler, segments, token: Token):
        login = token.login
        if segments == ["user"]:
            return self._send(
                handler,
                200,
                {
                    "login": login,
                    "id": self.accounts[login],
                    "name": login.title(),
                    "email": f"{login}@example.org",
                },
            )
        if segments == ["user", "emails"]:
            return self._send(handler, 200, [{"email": f"{login}@example.org", "primary": True}])
        may_read_org = "read:org" in token.scopes
        if len(segments) == 4 and segments[:3] == ["user", "memberships", "orgs"]:
            state = self.org_members.get(segments[3], {}).get(login)
            if state and may_read_org:
                return self._send(handler, 200, {"state": state, "role": "member"})
            return self._send(handler, 404, {"message": "Not Found"})
        if (
            len(segments) == 6
            and segments[0] == "orgs"
            and segments[2] == "teams"
            and segments[4] == "memberships"
        ):
            org, team, member = segments[1], segments[3], segments[5]
            state = self.team_members.get((org, team), {}).get(member)
            if state and may_read_org:
                return self._send(handler, 200, {"state": state, "role": "member"})
            return self._send(handler, 404, {"message": "Not Found"})
        return self._send(handler, 404, {"message": "Not Found"})

    @staticmethod
    def _send(handler, status: int, payload) -> None:
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
