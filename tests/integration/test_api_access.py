"""Who may see and do what, over real HTTP against one `baton serve` for the whole module.

Credentials: none, wrong, tampered, revoked or expired tokens are 401. Roles: a viewer
reads but cannot decide; an approver's decision lets the run finish; an item is answered
once; whoever requested a change cannot approve it. Teams: another team's objects do not
exist (404, absent from lists, nothing in any body). Bodies: fields the server derives
(`approver`, `status`…) are refused. Browsers: hostile alert text is inert in pages, and a
cookie alone (no CSRF token) changes nothing. Plus the documentation, health, metrics and
cursor pagination a client relies on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from baton.store import credentials
from baton.store.db import open_database
from baton.store.models import utcnow
from tests.conftest import wait_for
from tests.server import PEOPLE, Server, ServerHome, use_login_link

pytestmark = pytest.mark.integration

# erin may start runs and holds the approver role the runbook asks for: only separation of
# duties stops her from approving her own request. sam manages incidents of team search only.
PEOPLE_AND_ERIN = (
    PEOPLE
    + "  erin: [incident_manager, sre]\n"
    + "  sam: {roles: [incident_manager], teams: [search]}\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = ServerHome(tmp_path_factory.mktemp("access") / "home", people=PEOPLE_AND_ERIN)
    with Server(home) as running:
        yield running


class Users:
    """One API client per person of the directory, made lazily, closed at the end."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._clients: dict[str, httpx.Client] = {}

    def __getitem__(self, user: str) -> httpx.Client:
        if user not in self._clients:
            self._clients[user] = self.server.client(self.server.home.token(user))
        return self._clients[user]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


@pytest.fixture(scope="module")
def users(server: Server) -> Iterator[Users]:
    made = Users(server)
    yield made
    made.close()


def declare(
    users: Users, *, by: str = "alice", title: str = "checkout 5xx", **incident: Any
) -> str:
    """Declare an incident with web-restart (owned by payments); the run id."""
    response = users[by].post(
        "/v1/incidents",
        json={"incident": {"title": title, **incident}, "runbook": "web-restart"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["run_id"])


def pending_item(users: Users, run_id: str, *, as_user: str = "alice") -> dict[str, Any]:
    """The run's approval item, once the run reaches its gate."""

    def found() -> dict[str, Any] | None:
        items = users[as_user].get("/v1/items", params={"run": run_id}).json()["items"]
        return items[0] if items and run_status(users, run_id) == "waiting" else None

    item = wait_for(found, timeout=30, what=f"the approval item of {run_id}")
    assert isinstance(item, dict)
    return item


def item_state(users: Users, item_id: str) -> tuple[str, list[dict[str, Any]]]:
    item = users["alice"].get(f"/v1/items/{item_id}").json()
    return item["status"], item["decisions"]


def run_status(users: Users, run_id: str) -> str:
    return str(users["alice"].get(f"/v1/runs/{run_id}").json()["run"]["status"])


# ---- credentials --------------------------------------------------------------------------

READ_PATHS = ["/v1/incidents", "/v1/runs", "/v1/items", "/v1/patterns", "/v1/audit/events"]


def test_without_credentials_every_api_route_is_401(server: Server, users: Users) -> None:
    run_id = declare(users)
    item = pending_item(users, run_id)
    paths = [*READ_PATHS, f"/v1/runs/{run_id}", f"/v1/items/{item['id']}"]
    with server.client() as anonymous:
        for path in paths:
            response = anonymous.get(path)
            assert response.status_code == 401, (path, response.text)
            assert response.json()["error"]["code"] == "unauthenticated"
            assert response.headers["www-authenticate"].lower().startswith("bearer")
            assert run_id not in response.text
        decision = anonymous.post(f"/v1/items/{item['id']}/decision", json={"verdict": "approve"})
        assert decision.status_code == 401
    assert item_state(users, item["id"]) == ("pending", [])


def _db_token(server: Server, user: str, *, expires_in: timedelta | None) -> tuple[str, str]:
    db = open_database(server.home.settings)
    try:
        with db.write() as session:
            expires = utcnow() + expires_in if expires_in is not None else None
            row, token = credentials.create_token(
                session, user=user, team=None, expires_at=expires, by="system:test"
            )
            return row.id, token
    finally:
        db.close()


def _revoke(server: Server, token_id: str) -> None:
    db = open_database(server.home.settings)
    try:
        with db.write() as session:
            credentials.revoke_token(session, token_id=token_id)
    finally:
        db.close()


def test_wrong_tampered_revoked_and_expired_tokens_are_401(server: Server) -> None:
    live_id, live = _db_token(server, "alice", expires_in=timedelta(hours=1))
    _, expired = _db_token(server, "alice", expires_in=timedelta(seconds=-1))
    revoked_id, revoked = _db_token(server, "alice", expires_in=None)

    def status(token: str) -> int:
        with server.client(token) as client:
            return client.get("/v1/incidents").status_code

    assert status(live) == 200
    assert status(revoked) == 200
    _revoke(server, revoked_id)

    secret = live.split("_", 2)[2]
    refused = {
        "revoked": revoked,
        "expired": expired,
        "tampered secret": live[:-2] + ("AA" if not live.endswith("AA") else "BB"),
        "another token's secret": f"bt_{live_id}_{revoked.split('_', 2)[2]}",
        "unknown id": f"bt_000000000000_{secret}",
        "no secret": f"bt_{live_id}_",
        "not a token": "hunter2",
        "a webhook token": "am-token",
        "a JWT-looking token": "eyJhbGciOiJub25lIn0.eyJwcmVmZXJyZWRfdXNlcm5hbWUiOiJhbGljZSJ9.",
    }
    for case, token in refused.items():
        assert status(token) == 401, case
    for header in ("Basic YWxpY2U6aHVudGVyMg==", f"Token {live}", "Bearer", f"bearer{live}"):
        response = httpx.get(f"{server.url}/v1/incidents", headers={"Authorization": header})
        assert response.status_code == 401, header
    assert status(live) == 200  # the failures did not disturb a good token


def test_a_token_of_someone_not_in_the_directory_is_refused(server: Server) -> None:
    _, token = _db_token(server, "mallory", expires_in=None)
    with server.client(token) as client:
        response = client.get("/v1/incidents")
    assert response.status_code == 403
    assert "items" not in response.json()


# ---- roles, answers, separation of duties -------------------------------------------------


def test_a_viewer_reads_but_cannot_decide(users: Users) -> None:
    run_id = declare(users)
    item = pending_item(users, run_id, as_user="vic")
    assert item["answerable"] is False
    response = users["vic"].post(f"/v1/items/{item['id']}/decision", json={"verdict": "approve"})
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"
    assert item_state(users, item["id"]) == ("pending", [])
    assert run_status(users, run_id) == "waiting"


def test_an_approvers_decision_lets_the_run_finish_and_a_second_answer_is_409(
    users: Users,
) -> None:
    run_id = declare(users)
    wait_for(
        lambda: any(
            i["run_id"] == run_id
            for i in users["bob"].get("/v1/items", params={"mine": "true"}).json()["items"]
        ),
        timeout=30,
        what="the item in bob's inbox",
    )
    inbox = users["bob"].get("/v1/items", params={"mine": "true"}).json()["items"]
    item = next(i for i in inbox if i["run_id"] == run_id)
    assert item["kind"] == "approval" and item["answerable"] is True
    assert item["roles"] == ["sre"]

    response = users["bob"].post(
        f"/v1/items/{item['id']}/decision", json={"verdict": "approve", "comment": "go"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["settled"] is True

    wait_for(lambda: run_status(users, run_id) == "succeeded", timeout=30, what="run succeeded")
    run = users["alice"].get(f"/v1/runs/{run_id}").json()
    assert {t["id"]: t["status"] for t in run["tasks"]} == {
        "note": "succeeded",
        "approve": "succeeded",
        "restart": "succeeded",
    }
    status, decisions = item_state(users, item["id"])
    assert status != "pending"
    assert [(d["actor"], d["verdict"]) for d in decisions] == [("human:bob", "approve")]

    for who, verdict in (("carol", "reject"), ("bob", "approve"), ("carol", "approve")):
        again = users[who].post(f"/v1/items/{item['id']}/decision", json={"verdict": verdict})
        assert again.status_code == 409, (who, again.text)
        assert again.json()["error"]["code"] == "conflict"
    assert item_state(users, item["id"])[1] == decisions
    assert run_status(users, run_id) == "succeeded"


def test_whoever_requested_the_run_cannot_approve_it(users: Users) -> None:
    run_id = declare(users, by="erin")
    assert users["alice"].get(f"/v1/runs/{run_id}").json()["run"]["requested_by"] == ("human:erin")
    item = pending_item(users, run_id, as_user="erin")
    assert item["answerable"] is False  # she holds sre, but she asked for this

    for verdict in ("approve", "reject"):
        response = users["erin"].post(f"/v1/items/{item['id']}/decision", json={"verdict": verdict})
        assert response.status_code == 403, response.text
        assert "separation of duties" in response.json()["error"]["message"]
    # break-glass stands in for missing approvers, never for the requester
    glass = users["erin"].post(
        f"/v1/items/{item['id']}/decision",
        json={"verdict": "approve", "break_glass": True, "reason": "site down"},
    )
    assert glass.status_code == 403
    assert item_state(users, item["id"]) == ("pending", [])

    # the refusals are evidence
    trail = users["aud"].get(f"/v1/runs/{run_id}/timeline").json()["events"]
    refusals = [e for e in trail if e["kind"] == "refusal"]
    assert len(refusals) == 3
    assert {e["actor"] for e in refusals} == {"human:erin"}

    assert (
        users["bob"]
        .post(f"/v1/items/{item['id']}/decision", json={"verdict": "approve"})
        .status_code
        == 200
    )
    wait_for(lambda: run_status(users, run_id) == "succeeded", timeout=30, what="run succeeded")

    # an admin is no exception: separation of duties is checked before anything else
    own = pending_item(users, declare(users, by="alice"))
    response = users["alice"].post(f"/v1/items/{own['id']}/decision", json={"verdict": "approve"})
    assert response.status_code == 403
    assert "separation of duties" in response.json()["error"]["message"]
    assert item_state(users, own["id"]) == ("pending", [])


@pytest.mark.parametrize(
    "extra",
    [
        {"approver": "bob"},
        {"actor": "human:bob"},
        {"by": "bob"},
        {"status": "approved"},
        {"approved_at": "2026-01-01T00:00:00Z"},
        {"roles": ["sre"]},
    ],
    ids=lambda e: next(iter(e)),
)
def test_fields_the_server_derives_are_refused_and_nothing_recorded(
    users: Users, extra: dict[str, Any]
) -> None:
    run_id = declare(users)
    item = pending_item(users, run_id)
    # vic (a viewer) tries to pass for an approver; bob tries to set what the server records
    for who in ("vic", "bob"):
        response = users[who].post(
            f"/v1/items/{item['id']}/decision", json={"verdict": "approve", **extra}
        )
        assert response.status_code in (403, 422), response.text
        if who == "bob":
            assert response.status_code == 422
            error = response.json()["error"]
            assert error["field"] == next(iter(extra)), error
    assert item_state(users, item["id"]) == ("pending", [])
    assert run_status(users, run_id) == "waiting"


def test_an_oversized_body_on_an_api_route_is_refused_before_it_is_read(
    server: Server, users: Users
) -> None:
    # Found by this test: only /v1/webhooks bounded its body; 100 MB unauthenticated to any
    # other route took ~300 MB of server memory before the 401.
    run_id = declare(users)
    item = pending_item(users, run_id)
    big = b'{"verdict": "approve", "comment": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    for headers in ({}, {"Authorization": f"Bearer {server.home.token('bob')}"}):
        response = httpx.post(
            f"{server.url}/v1/items/{item['id']}/decision",
            content=big,
            headers=headers | {"Content-Type": "application/json"},
            timeout=60,
        )
        assert response.status_code == 413, response.text
    assert item_state(users, item["id"]) == ("pending", [])


# ---- teams ----------------------------------------------------------------------------------


def test_another_teams_objects_do_not_exist_for_you(users: Users) -> None:
    payments_title = f"payments-secret-{uuid.uuid4().hex[:8]}"
    run_id = declare(users, title=payments_title)  # web-restart is owned by payments
    item = pending_item(users, run_id, as_user="carol")
    incident_id = users["carol"].get(f"/v1/runs/{run_id}").json()["run"]["incident_id"]
    search_title = f"search-own-{uuid.uuid4().hex[:8]}"
    search_run = declare(users, title=search_title, team="search")

    dave, carol = users["dave"], users["carol"]
    hidden = [
        f"/v1/items/{item['id']}",
        f"/v1/runs/{run_id}",
        f"/v1/runs/{run_id}/timeline",
        f"/v1/incidents/{incident_id}",
    ]
    for path in hidden:
        assert carol.get(path).status_code == 200, path  # the object exists…
        response = dave.get(path)  # …but not for dave
        assert response.status_code == 404, (path, response.text)
        assert payments_title not in response.text
        # exactly what an id that never existed gets: no oracle
        unknown = dave.get(path.replace(run_id, "run_000000000000").replace(item["id"], "x1"))
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == response.json()["error"]["code"]

    for path, params in (
        ("/v1/items", {"status": ""}),
        ("/v1/items", {"run": run_id}),
        ("/v1/runs", {"limit": 500}),
        ("/v1/incidents", {"limit": 500}),
    ):
        listed = dave.get(path, params=params)
        assert listed.status_code == 200
        for leaked in (run_id, item["id"], incident_id, payments_title):
            assert leaked not in listed.text, (path, params, leaked)
    assert search_run in dave.get("/v1/runs", params={"limit": 500}).text
    assert search_run not in carol.get("/v1/runs", params={"limit": 500}).text

    # answering another team's item: 404 before anything is recorded
    decision = dave.post(f"/v1/items/{item['id']}/decision", json={"verdict": "approve"})
    assert decision.status_code == 404
    assert payments_title not in decision.text
    assert item_state(users, item["id"]) == ("pending", [])
    trail = users["aud"].get(f"/v1/runs/{run_id}/timeline").json()["events"]
    assert not [e for e in trail if e["actor"] == "human:dave"]

    # a token narrowed to one team narrows even an admin
    narrowed = users.server.home.token("alice", team="search")
    with users.server.client(narrowed) as alice_for_search:
        assert alice_for_search.get(f"/v1/incidents/{incident_id}").status_code == 404
        assert incident_id not in alice_for_search.get("/v1/incidents").text


def test_another_teams_ids_are_no_use_as_cursors_or_incident_ids(users: Users) -> None:
    run_id = declare(users)  # payments
    pending_item(users, run_id)
    incident_id = users["carol"].get(f"/v1/runs/{run_id}").json()["run"]["incident_id"]
    dave, sam = users["dave"], users["sam"]

    # a hidden id as a page cursor answers exactly as an unknown one
    for path, hidden, unknown in (
        ("/v1/runs", run_id, "run_000000000000"),
        ("/v1/incidents", incident_id, "inc_0000000000"),
    ):
        seen = dave.get(path, params={"cursor": hidden})
        never = dave.get(path, params={"cursor": unknown})
        assert (seen.status_code, never.status_code) == (404, 404), (path, seen.text)
        assert seen.json()["error"]["message"].replace(hidden, "?") == never.json()["error"][
            "message"
        ].replace(unknown, "?")

    # declaring "an incident" under another team's id must not start a run on that incident
    hijack = sam.post(
        "/v1/incidents",
        json={
            "incident": {"id": incident_id, "title": "mine now", "team": "search"},
            "runbook": "web-restart",
        },
    )
    assert hijack.status_code in (404, 409), hijack.text
    assert "mine now" not in hijack.text
    runs = users["carol"].get(f"/v1/incidents/{incident_id}").json()["runs"]
    assert [r["id"] for r in runs] == [run_id]
    assert users["carol"].get(f"/v1/incidents/{incident_id}").json()["team"] == "payments"

    # in its own team a second run on an incident stays possible
    own = sam.post(
        "/v1/incidents",
        json={"incident": {"title": "search slow", "team": "search"}, "runbook": "web-restart"},
    )
    assert own.status_code == 201, own.text
    again = sam.post(
        "/v1/incidents",
        json={
            "incident": {"id": own.json()["incident_id"], "title": "search slow"},
            "runbook": "web-restart",
        },
    )
    assert again.status_code == 201, again.text
    assert again.json()["incident_id"] == own.json()["incident_id"]
    detail = sam.get(f"/v1/incidents/{own.json()['incident_id']}").json()
    assert len(detail["runs"]) == 2 and detail["team"] == "search"


# ---- hostile text in pages -----------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
ESCAPES = "\x1b[2K\x1b[1A\x1b]0;pwned\x07"


def hostile_incident(server: Server) -> tuple[str, str]:
    """An alert whose title and annotations carry markup and terminal escapes."""
    title = f"{SCRIPT}{ESCAPES} WebDown"
    body = {
        "title": title,
        "labels": {"alertname": "WebDown", "probe": uuid.uuid4().hex[:8]},
        "annotations": {"summary": f"{IMG}{ESCAPES}summary", "note": SCRIPT},
        "description": f"{SCRIPT}\x1b[31mred\x1b[0m",
        "severity": "critical",
    }
    response = httpx.post(
        f"{server.url}/v1/webhooks/generic",
        json=body,
        headers={"Authorization": "Bearer generic-token"},
    )
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["outcome"] == "created", result
    return result["incident_id"], result["run_id"]


@contextmanager
def browser(server: Server, user: str) -> Iterator[httpx.Client]:
    """A client logged in through a one-time login link (a session cookie)."""
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as client:
        landed = use_login_link(client, server.home.login_link(user))
        assert landed.status_code == 200, landed.text
        assert landed.url.path == "/inbox"
        assert client.cookies.get("baton_session")
        yield client


def test_hostile_alert_text_is_plain_json_in_the_api_and_inert_in_pages(
    server: Server, users: Users
) -> None:
    incident_id, run_id = hostile_incident(server)
    item = pending_item(users, run_id)

    api = users["bob"].get(f"/v1/incidents/{incident_id}")
    assert api.headers["content-type"].startswith("application/json")
    assert b"\x1b" not in api.content and b"\x07" not in api.content  # JSON-escaped
    incident = api.json()
    assert SCRIPT in incident["title"] and "\x1b[2K" in incident["title"]  # kept as data
    assert incident["body"]["description"].startswith(SCRIPT)

    with browser(server, "bob") as bob:
        for path in (f"/items/{item['id']}", f"/incidents/{incident_id}"):
            page = bob.get(path)
            assert page.status_code == 200, page.text
            assert page.headers["content-type"].startswith("text/html")
            html = page.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
            assert "<script>alert" not in html, path
            assert "<img src=x" not in html, path
            assert "\x1b" not in html and "\x07" not in html, path
            assert "]0;pwned" not in html, path


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "the item page carries the session's CSRF token"
    return match.group(1)


def test_a_session_cookie_without_its_csrf_token_changes_nothing(
    server: Server, users: Users
) -> None:
    run_id = declare(users)
    item = pending_item(users, run_id)
    with browser(server, "bob") as bob:
        assert bob.get("/v1/incidents").status_code == 200  # the cookie is a credential
        token = _csrf(bob.get(f"/items/{item['id']}").text)

        for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": ""}):
            response = bob.post(
                f"/v1/items/{item['id']}/decision", json={"verdict": "approve"}, headers=headers
            )
            assert response.status_code == 403, (headers, response.text)
        for form in ({"verdict": "approve"}, {"verdict": "approve", "csrf": "forged"}):
            response = bob.post(f"/items/{item['id']}/answer", data=form)
            assert response.status_code == 403, (form, response.status_code)
        assert item_state(users, item["id"]) == ("pending", [])

        # with the session's own token the same form is taken
        taken = bob.post(
            f"/items/{item['id']}/answer",
            data={"verdict": "approve", "csrf": token},
            follow_redirects=False,
        )
        assert taken.status_code == 303, taken.text
        assert taken.headers["location"].startswith("/incidents/")
    status, decisions = item_state(users, item["id"])
    assert status != "pending"
    assert [(d["actor"], d["verdict"]) for d in decisions] == [("human:bob", "approve")]


def test_a_used_login_link_does_not_log_in_twice(server: Server) -> None:
    secret = server.home.login_link("bob")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as preview:
        # A chat preview fetching the link gets a page with a button, and spends nothing.
        assert preview.get(f"/login/link/{secret}").status_code == 200
        assert "baton_session" not in preview.cookies
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as first:
        assert use_login_link(first, secret).url.path == "/inbox"
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as second:
        again = use_login_link(second, secret)
        assert again.status_code == 401
        assert "baton_session" not in second.cookies
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as forged:
        # A form posted from elsewhere (no login CSRF cookie) spends nothing either.
        fresh = server.home.login_link("bob")
        refused = forged.post(f"/login/link/{fresh}", data={"login_csrf": "x"})
        assert refused.status_code == 403
        assert use_login_link(forged, fresh).status_code == 303


# ---- documentation, health, metrics, pagination ----------------------------------------------


def test_openapi_health_and_metrics_answer(server: Server) -> None:
    with server.client() as anonymous:
        docs = anonymous.get("/docs")
        assert docs.status_code == 200 and "/v1/items/{item_id}/decision" in docs.text
        # Rendered here: no script, style or font from elsewhere (FastAPI's loads a CDN's).
        assert not re.search(r'(src|href)="https?://', docs.text), "an external asset"
        spec = anonymous.get("/openapi.json")
        assert spec.status_code == 200
        paths = spec.json()["paths"]
        assert "/v1/items/{item_id}/decision" in paths
        assert "/v1/webhooks/{source}" in paths
        decision = spec.json()["components"]["schemas"]["DecisionIn"]
        assert decision.get("additionalProperties") is False
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        ready = anonymous.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        metrics = anonymous.get("/metrics")
        assert metrics.status_code == 200
        assert re.search(r"^baton_runs\{state=\"\w+\"\} \d", metrics.text, re.MULTILINE)


def _walk(client: httpx.Client, path: str) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(path, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        ids += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
    pytest.fail(f"{path}: pagination never ended")


def test_cursor_pagination_walks_every_run_and_incident_exactly_once(users: Users) -> None:
    made = [declare(users, title=f"page {n}") for n in range(5)]
    alice = users["alice"]
    incidents = [alice.get(f"/v1/runs/{r}").json()["run"]["incident_id"] for r in made]
    for path, mine in (("/v1/runs", made), ("/v1/incidents", incidents)):
        walked = _walk(alice, path)
        assert len(walked) == len(set(walked)), f"{path}: an id came twice"
        assert all(walked.count(i) == 1 for i in mine)
        everything = [i["id"] for i in alice.get(path, params={"limit": 500}).json()["items"]]
        assert walked == everything  # same order, nothing skipped
        newest_first = [i for i in walked if i in mine]
        assert newest_first == list(reversed(mine))


def test_revoking_a_token_ends_the_browser_sessions_opened_with_it(server: Server) -> None:
    """Found by a probe: a session opened with a token outlived the token's revocation."""
    token_id, token = _db_token(server, "vic", expires_in=None)
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as browser:
        form = browser.get("/login")
        found = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
        assert found
        logged = browser.post("/login", data={"token": token, "login_csrf": found.group(1)})
        assert logged.status_code == 303 and browser.cookies.get("baton_session")
        assert browser.get("/v1/incidents").status_code == 200
        _revoke(server, token_id)
        assert browser.get("/v1/incidents").status_code == 401
        assert browser.get("/inbox").status_code == 303  # back to the login page
