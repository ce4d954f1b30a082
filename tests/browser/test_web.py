"""The web app in a real browser: Playwright drives Debian's chromium (no browser download)
against a real `baton serve` subprocess.

What must hold for an approver at 2am: a one-time link logs them in; the gate shows what
fired and what runs if they approve; approving moves the run on and every open incident page
follows by itself over server-sent events (no reload); a person who may not answer is told
why before trying, and a forged answer is refused with nothing changed; alert text is shown
as text, never run; the pages fit a phone; forms are labelled and graphics are named.

Each page is saved as a full-page PNG to $BATON_SCREENSHOTS (else the test's temporary
directory), for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect, sync_playwright

from tests.conftest import REPO, wait_for
from tests.server import PEOPLE, Server, ServerHome

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FIXTURE = REPO / "tests" / "fixtures" / "webhooks" / "alertmanager-firing.json"
GATE = "Restart the web tier?"
LIVE = 20_000  # ms: a run's next steps plus one server-sent event, with room on a slow CI box

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium (.ci/run installs it)",
    ),
]

# erin may declare incidents and holds the gate's role: only separation of duties stops her.
BROWSER_PEOPLE = PEOPLE + "  erin: [incident_manager, sre]\n"


# ---- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = ServerHome(tmp_path_factory.mktemp("browser") / "home", people=BROWSER_PEOPLE)
    with Server(home) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    """An admin's API client, to set up and to check what the browser did."""
    with server.client(server.home.token("alice")) as client:
        yield client


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("BATON_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def contexts(browser: Browser, server: Server) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


# ---- helpers --------------------------------------------------------------------------


def fire(server: Server, summary: str, **annotations: str) -> tuple[str, str, str]:
    """An Alertmanager alert routed to `web-restart`: (incident id, run id, incident title)."""
    payload = json.loads(FIXTURE.read_text())
    key = uuid.uuid4().hex[:12]
    alert = payload["alerts"][0]
    alert["labels"].update(alertname="HighErrorRate", severity="critical", case=key)
    alert["annotations"] = {"summary": summary, **annotations}
    alert["fingerprint"] = key
    alert["startsAt"] = datetime.now(UTC).isoformat()
    payload["groupKey"] = f'{{}}:{{case="{key}"}}'
    response = httpx.post(
        f"{server.url}/v1/webhooks/alertmanager",
        json=payload,
        headers={"Authorization": "Bearer am-token"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["outcome"] == "created", result
    return result["incident_id"], result["run_id"], f"HighErrorRate: {summary}"


def gate_of(api: httpx.Client, run_id: str) -> str:
    """The run's pending approval, once the run has reached it."""

    def pending() -> str | None:
        items = api.get("/v1/items", params={"run": run_id}).json()["items"]
        return next((i["id"] for i in items if i["status"] == "pending"), None)

    return str(wait_for(pending, timeout=20, what=f"the gate of {run_id}"))


def log_in(
    browser: Browser, server: Server, contexts: list[BrowserContext], user: str, **options: Any
) -> Page:
    """A fresh browser for `user`, logged in with a one-time link (which lands on the inbox)."""
    context = browser.new_context(base_url=server.url, **options)
    contexts.append(context)
    page = context.new_page()
    page.goto(f"/login/link/{server.home.login_link(user)}")
    page.get_by_role("button", name="Continue").click()  # a GET alone never spends the link
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.locator("header .me")).to_contain_text(user)
    return page


def shoot(page: Page, shots: Path, name: str) -> Path:
    path = shots / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000, path
    return path


def item_state(api: httpx.Client, item_id: str) -> dict[str, Any]:
    return dict(api.get(f"/v1/items/{item_id}").json())


# ---- tests ----------------------------------------------------------------------------


def test_an_approver_approves_and_every_open_page_follows_the_run_live(
    server: Server,
    browser: Browser,
    api: httpx.Client,
    contexts: list[BrowserContext],
    shots: Path,
) -> None:
    incident_id, run_id, title = fire(
        server, "checkout 5xx above 5%", description="5xx ratio 7.2% over 10 minutes"
    )
    item_id = gate_of(api, run_id)

    # carol has the incident open before anyone answers; she never reloads it.
    watcher = log_in(browser, server, contexts, "carol")
    watcher.goto(f"/incidents/{incident_id}")
    watched = watcher.locator(f"#{run_id} .run-status")
    expect(watched).to_have_text("waiting")
    expect(watcher.locator("#live")).to_have_text("live")
    watcher.evaluate("window.__notReloaded = true")
    loads: list[str] = []
    watcher.on("load", lambda loaded: loads.append(loaded.url))

    page = log_in(browser, server, contexts, "bob")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Waiting for you")
    row = page.locator("li.item", has_text=title)
    expect(row).to_contain_text("critical")
    shoot(page, shots, "approve-1-inbox")
    row.get_by_role("link", name=GATE).click()

    expect(page).to_have_url(re.compile(f"/items/{item_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(GATE)
    expect(page.locator("main")).to_contain_text("5xx ratio 7.2% over 10 minutes")
    next_steps = page.locator("section", has=page.get_by_role("heading", name="If you approve"))
    expect(next_steps).to_contain_text("Restart")
    shoot(page, shots, "approve-2-item")
    page.get_by_label("Comment").fill("error rate confirmed, restarting")
    page.get_by_role("button", name="Approve").click()

    expect(page).to_have_url(re.compile(f"/incidents/{incident_id}\\?answered={item_id}$"))
    expect(page.get_by_role("status")).to_have_text(
        f"You approved “{GATE}”. It is recorded under your name."
    )
    expect(page.locator(f"#{run_id} .run-status")).to_have_text("succeeded", timeout=LIVE)

    # The page carol left open followed the run over server-sent events, without a reload.
    expect(watched).to_have_text("succeeded", timeout=LIVE)
    expect(watcher.locator(f"#{run_id} .timeline")).to_contain_text(
        "error rate confirmed, restarting"
    )
    expect(watcher.locator(f"#{run_id} svg.graph.wide")).to_have_attribute(
        "aria-label", re.compile("restart succeeded")
    )
    assert watcher.evaluate("window.__notReloaded") is True
    assert loads == []
    shoot(watcher, shots, "approve-3-incident-live")
    # The note comes from the store, not from the link: carol did not answer, so none.
    watcher.goto(f"/incidents/{incident_id}?answered={item_id}")
    expect(watcher.get_by_role("heading", level=1)).to_have_text(title)
    expect(watcher.get_by_role("status")).to_have_count(0)

    answered = item_state(api, item_id)
    assert answered["status"] != "pending"
    assert [(d["actor"], d["verdict"], d["comment"]) for d in answered["decisions"]] == [
        ("human:bob", "approve", "error rate confirmed, restarting")
    ]


def test_a_pasted_token_logs_in_and_a_wrong_one_is_refused(
    server: Server, browser: Browser, contexts: list[BrowserContext], shots: Path
) -> None:
    context = browser.new_context(base_url=server.url)
    contexts.append(context)
    page = context.new_page()
    page.goto("/incidents")  # not logged in: the login page, remembering where to go
    expect(page).to_have_url(re.compile(r"/login\?next=/incidents$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to Baton")

    page.get_by_label("API token").fill("bt_this-is-not-a-token")
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.get_by_role("button", name="Log in").click()
    assert refused.value.status == 401
    expect(page.get_by_role("alert")).to_have_text(
        "That token was not accepted: it is unknown, expired or revoked."
    )
    assert not [c for c in context.cookies() if c["name"] == "baton_session"]
    shoot(page, shots, "login-refused")

    page.get_by_label("API token").fill(server.home.token("carol"))
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/incidents$"))
    expect(page.locator("header .me")).to_contain_text("carol")
    expect(page.get_by_role("heading", level=1)).to_have_text("Incidents")


def test_who_may_not_approve_is_told_why_and_a_forged_answer_changes_nothing(
    server: Server,
    browser: Browser,
    api: httpx.Client,
    contexts: list[BrowserContext],
    shots: Path,
) -> None:
    declared = httpx.post(
        f"{server.url}/v1/incidents",
        json={
            "incident": {"title": "Declared by erin: checkout slow", "service": "checkout"},
            "runbook": "web-restart",
        },
        headers={"Authorization": f"Bearer {server.home.token('erin')}"},
        timeout=30,
    )
    assert declared.status_code == 201, declared.text
    run_id = declared.json()["run_id"]
    item_id = gate_of(api, run_id)

    page = log_in(browser, server, contexts, "erin")
    page.goto(f"/items/{item_id}")
    cannot = page.locator(".cannot")
    expect(cannot).to_contain_text("You cannot answer this approval")
    expect(cannot).to_contain_text("you requested this run")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)

    # The form rebuilt by hand, with the session's CSRF token: the server refuses it too.
    page.evaluate(
        """(id) => {
          const form = Object.assign(document.createElement("form"),
                                     {method: "post", action: `/items/${id}/answer`});
          const csrf = document.querySelector("input[name=csrf]").value;
          for (const [name, value] of [["csrf", csrf], ["verdict", "approve"], ["comment", "mine"]]) {
            form.append(Object.assign(document.createElement("input"),
                                      {type: "hidden", name, value}));
          }
          document.body.append(form);
          form.submit();
        }""",
        item_id,
    )
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Not recorded: refused (forbidden).")
    expect(refusal).to_contain_text("Nothing was changed.")
    shoot(page, shots, "item-refused")

    state = item_state(api, item_id)
    assert state["status"] == "pending" and state["decisions"] == [], state
    assert api.get(f"/v1/runs/{run_id}").json()["run"]["status"] == "waiting"

    viewer = log_in(browser, server, contexts, "vic")
    viewer.goto(f"/items/{item_id}")
    expect(viewer.locator(".cannot")).to_contain_text("may read items but not answer them")
    expect(viewer.get_by_role("button", name="Approve")).to_have_count(0)
    assert item_state(api, item_id)["decisions"] == []


def test_alert_text_is_shown_as_text_and_never_runs(
    server: Server,
    browser: Browser,
    api: httpx.Client,
    contexts: list[BrowserContext],
    shots: Path,
) -> None:
    summary = "<script>alert('summary')</script>"
    description = "<img src=x onerror=\"alert('description')\"> <b>bold?</b>"
    incident_id, run_id, title = fire(
        server,
        summary,
        description=description,
        runbook_url="javascript:alert('link')",
        dashboard="<svg onload=alert('svg')></svg>",
    )
    item_id = gate_of(api, run_id)
    page = log_in(browser, server, contexts, "bob")
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    for path in ("/inbox", f"/items/{item_id}", f"/incidents/{incident_id}", "/incidents"):
        page.goto(path)
        main = page.locator("main")
        expect(main).to_contain_text(title)
        assert main.locator("script, img, b, svg[onload]").count() == 0, path
        assert page.locator("a[href^='javascript:' i]").count() == 0, path
    for path in (f"/items/{item_id}", f"/incidents/{incident_id}"):
        page.goto(path)
        main = page.locator("main")
        expect(main).to_contain_text(description)
        expect(main).to_contain_text("javascript:alert('link')")
        expect(main).to_contain_text("<svg onload=alert('svg')></svg>")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    shoot(page, shots, "incident-hostile-text")
    assert dialogs == []


def test_the_inbox_and_the_gate_fit_a_phone(
    server: Server,
    browser: Browser,
    api: httpx.Client,
    contexts: list[BrowserContext],
    shots: Path,
) -> None:
    incident_id, run_id, _ = fire(
        server,
        "payments API 5xx on every pod of the payments-checkout-production-eu-west-1 fleet",
        description="x" * 300,
    )
    item_id = gate_of(api, run_id)
    page = log_in(
        browser,
        server,
        contexts,
        "bob",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    pages = {
        "inbox": "/inbox",
        "item": f"/items/{item_id}",
        "incident": f"/incidents/{incident_id}",
        "incidents": "/incidents",
        "patterns": "/patterns",
        "dashboard": "/dashboard",
    }
    for name, path in pages.items():
        page.goto(path)
        scroll, client = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client, f"{name}: {scroll}px wide in a {client}px viewport"
        shoot(page, shots, f"phone-{name}")
    page.goto(pages["item"])
    # On a phone the run graph is drawn top to bottom, at a legible size, not squeezed.
    expect(page.locator("svg.graph.tall")).to_be_visible()
    expect(page.locator("svg.graph.wide")).to_be_hidden()
    for name in ("Approve", "Reject"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, (name, box)


A11Y = """() => {
  const problems = [];
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} h1 elements`);
  if (!document.documentElement.lang) problems.push("no lang on <html>");
  if (!document.title.trim()) problems.push("no title");
  const controls = "input:not([type=hidden]), select, textarea, meter, progress";
  for (const el of document.querySelectorAll(controls)) {
    const named = (el.labels && el.labels.length) || el.getAttribute("aria-label")
      || el.getAttribute("aria-labelledby");
    if (!named) problems.push(`unlabelled ${el.tagName.toLowerCase()} ${el.name || el.id}`);
  }
  for (const el of document.querySelectorAll("img")) {
    if (!el.hasAttribute("alt")) problems.push(`img without alt: ${el.src}`);
  }
  for (const el of document.querySelectorAll("svg")) {
    if (el.parentElement.closest("svg") || el.getAttribute("aria-hidden") === "true") continue;
    if (el.getAttribute("role") !== "img" || !(el.getAttribute("aria-label") || "").trim()) {
      problems.push(`svg without role=img and aria-label: ${el.outerHTML.slice(0, 80)}`);
    }
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    if (!el.textContent.trim() && !el.getAttribute("aria-label")) {
      problems.push(`${el.tagName.toLowerCase()} without a name`);
    }
  }
  return problems;
}"""


def test_every_page_is_labelled_named_and_saved_as_a_screenshot(
    server: Server,
    browser: Browser,
    api: httpx.Client,
    contexts: list[BrowserContext],
    shots: Path,
) -> None:
    incident_id, run_id, _ = fire(
        server,
        "search latency p99 above 2s",
        description="p99 latency 2.4s over 10 minutes on search",
        runbook_url="https://runbooks.example.com/HighErrorRate",
    )
    item_id = gate_of(api, run_id)

    anonymous = browser.new_context(base_url=server.url)
    contexts.append(anonymous)
    login = anonymous.new_page()
    login.goto("/login")
    assert login.evaluate(A11Y) == []
    saved = [shoot(login, shots, "login")]

    page = log_in(browser, server, contexts, "bob")
    pages = {
        "inbox": "/inbox",
        "item": f"/items/{item_id}",
        "incident": f"/incidents/{incident_id}",
        "incidents": "/incidents",
        "patterns": "/patterns",
        "dashboard": "/dashboard",
    }
    for name, path in pages.items():
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        assert page.evaluate(A11Y) == [], name
        saved.append(shoot(page, shots, name))
    assert [p.name for p in saved] == [
        "login.png",
        "inbox.png",
        "item.png",
        "incident.png",
        "incidents.png",
        "patterns.png",
        "dashboard.png",
    ]
    assert all(p.stat().st_size > 0 for p in saved)


def test_a_draft_answer_survives_live_updates(
    server: Server, browser: Browser, api: httpx.Client, contexts: list[BrowserContext]
) -> None:
    """Found by a probe: an update elsewhere re-rendered the gate page and emptied the
    approver's comment and changed parameters while they read the evidence."""
    _, run_id, _ = fire(server, "draft check")
    item = gate_of(api, run_id)
    page = log_in(browser, server, contexts, "bob")
    page.goto(f"/items/{item}")
    page.fill("#comment", "checked the deploy diff")
    page.locator("h1").click()  # focus leaves the field: only the draft protects it now
    fire(server, "another alert, another team's business")  # the audit trail grows
    expect(page.locator("#stale")).to_be_visible(timeout=15_000)
    expect(page.locator("#comment")).to_have_value("checked the deploy diff")
