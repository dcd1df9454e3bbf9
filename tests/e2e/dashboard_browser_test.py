#!/usr/bin/env python3
"""The dashboard in a real browser (ctest label `browser`; doc/dashboard.md).

Starts `flywheel serve` on a free loopback port with a temporary data directory, fills it with a
small stream (PUT /v1/items with titles, POST /v1/events), opens each page in headless Chromium
(--dump-dom after a virtual-time budget, and --screenshot) and checks what was rendered: the
overview's numbers against GET /v1/stats, a user's recommendations with reasons and explain
weights, the dry-run's before/after lists, the item page's title and similar items, the login
form of a server with keys; and that no page logged an error (the page's own error list, filled
by web/errors.js, and Chromium's console log). Screenshots go to --out (build/<preset>/artefacts).

  dashboard_browser_test.py --binary build/release/bin/flywheel --out build/release/artefacts

Chromium: $FLYWHEEL_CHROMIUM, else `chromium` on the PATH. Without it the test is skipped
(exit 77), except under CI=true where it fails.
"""
import argparse
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import cdp  # tests/e2e/cdp.py: Chromium through its DevTools protocol (stdlib only)

SKIP = 77
FAILURES = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILURES.append(what)
    return ok


class Server:
    """`flywheel serve` on an ephemeral port; the address from its "listening" line."""

    def __init__(self, binary, data_dir, models, env=None):
        self.proc = subprocess.Popen(
            [binary, "serve", "--data-dir", data_dir, "--port", "0", "--models", models],
            stdout=subprocess.PIPE, env={**os.environ, **(env or {})}, text=True)
        deadline = time.time() + 60
        self.url = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if doc.get("msg") == "listening":
                self.url = "http://" + doc["address"]
                return
        self.stop()
        raise RuntimeError("flywheel serve did not start")

    def call(self, method, path, body=None, key=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if key:
            req.add_header("Authorization", "Bearer " + key)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return res.status, json.loads(res.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)


TITLES = ["The Quiet Harbour", "Night Train to Lisbon", "Paper Moons", "A River in Winter",
          "The Glass Orchard", "Salt and Cedar", "Northern Lights", "The Last Cartographer",
          "Small Hours", "Blue Meridian", "Copper Sky", "The Orchard Keeper"]


def fill(server, key=None):
    """12 items with titles and categories, 24 users x 10 events: returns the events sent."""
    for i, title in enumerate(TITLES):
        status, _ = server.call("PUT", f"/v1/items/i{i}", {
            "title": title, "categories": ["drama" if i % 2 else "comedy"], "tags": [f"t{i % 3}"]},
            key=key)
        assert status == 202, status
    now = int(time.time() * 1000) - 3_600_000
    events = []
    types = ["view", "click", "view", "purchase", "click"]
    for u in range(24):
        for j in range(10):
            item = (u * 3 + j * (1 + u % 4)) % len(TITLES)
            events.append({"user": f"u{u}", "item": f"i{item}", "type": types[(u + j) % len(types)],
                           "ts": now + (u * 10 + j) * 1000, "id": f"e-{u}-{j}"})
    status, body = server.call("POST", "/v1/events", {"events": events}, key=key)
    assert status == 202, (status, body)
    status, body = server.call("PUT", "/v1/users/u1", {"attributes": {"plan": "gold"}}, key=key)
    assert status == 202, (status, body)
    deadline = time.time() + 30
    while time.time() < deadline:
        _, stats = server.call("GET", "/v1/stats", key=key)
        if stats["applied_seq"] >= stats["last_seq"]:
            break
        time.sleep(0.05)
    for u in range(0, 24, 3):  # some lists served: the latency and live numbers have data
        status, _ = server.call("GET", f"/v1/users/u{u}/recommendations?k=10", key=key)
        assert status == 200, status
    return events


class Dom(html.parser.HTMLParser):
    """The rendered DOM: attributes of <body>, elements by id and by data-* attribute, text."""

    def __init__(self, text):
        super().__init__()
        self.body = {}
        self.stack = []  # open elements: [tag, attrs, text parts]
        self.elements = []  # (tag, attrs, text) of every closed element
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.body = attrs
        if tag in ("meta", "link", "img", "input", "br", "hr", "source"):
            self.elements.append((tag, attrs, "", []))
            return
        self.stack.append([tag, attrs, [], [e[1].get("id") for e in self.stack if e[1].get("id")]])

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, attrs, parts, ancestors = self.stack.pop()
            text = "".join(parts)
            self.elements.append((open_tag, attrs, text, ancestors))
            if self.stack:
                self.stack[-1][2].append(text)
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)

    def find(self, **attrs):
        return [e for e in self.elements if all(e[1].get(k.replace("_", "-")) == v
                                                for k, v in attrs.items())]

    def by_id(self, id_):
        found = self.find(id=id_)
        return found[0] if found else None

    def with_class(self, cls):
        return [e for e in self.elements if cls in (e[1].get("class") or "").split()]


class Browser:
    def __init__(self, chromium, out_dir, profile_root):
        self.chromium = chromium
        self.out_dir = out_dir
        self.profile_root = profile_root
        self.runs = 0

    def _run(self, url, extra):
        self.runs += 1
        profile = os.path.join(self.profile_root, f"profile-{self.runs}")
        args = [self.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage",
                "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
                "--hide-scrollbars", "--virtual-time-budget=8000",
                *extra, url]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
        shutil.rmtree(profile, ignore_errors=True)
        return proc

    def open(self, url, name, size="1280,1500"):
        """(Dom, console errors) of the page after the budget; saves <name>.png."""
        proc = self._run(url, ["--dump-dom", "--window-size=" + size])
        shot = self._run(url, ["--screenshot=" + os.path.join(self.out_dir, name + ".png"),
                               "--window-size=" + size])
        errors = console_errors(proc.stderr) + console_errors(shot.stderr)
        with open(os.path.join(self.out_dir, name + ".html"), "w", encoding="utf-8") as f:
            f.write(proc.stdout)
        return Dom(proc.stdout), errors


def console_errors(stderr):
    """Lines of Chromium's log that report a page error: an uncaught exception, a console.error
    (the page's own hook also lists those), or a dashboard file that failed to load."""
    bad = []
    for line in stderr.splitlines():
        if "CONSOLE" not in line and "Uncaught" not in line:
            continue
        if "Uncaught" in line or "ERROR:CONSOLE" in line and "Failed to load resource" not in line:
            bad.append(line)
        elif "Failed to load resource" in line and re.search(r"/ui/|source: https?://[^/]+/\s*$", line):
            bad.append(line)
    return bad


def digits(text):
    return re.sub(r"[^0-9]", "", text or "")


def no_page_errors(dom, console, page):
    errors_list = dom.by_id("fw-errors")
    listed = [] if errors_list is None else [t for t in [errors_list[2].strip()] if t]
    check(not listed, f"{page}: no error listed by the page {listed}")
    check(not console, f"{page}: no console error {console[:3]}")


def metric(dom, name):
    found = dom.find(data_metric=name)
    return found[0] if found else None


def check_overview(browser, server):
    history_status, history = server.call("GET", "/v1/stats/history")
    deadline = time.time() + 30
    while history_status == 200 and len(history["t"]) < 3 and time.time() < deadline:
        time.sleep(0.5)  # one sample every 2 s: wait for lines to draw
        history_status, history = server.call("GET", "/v1/stats/history")
    _, stats = server.call("GET", "/v1/stats")
    dom, console = browser.open(server.url + "/#/overview", "overview")
    check(dom.body.get("data-page") == "overview" and dom.body.get("data-state") == "ready",
          f"overview: rendered (body {dom.body})")
    for name in ("events", "users", "items"):
        el = metric(dom, name)
        check(el is not None and el[1].get("data-value") == str(stats[name]) and
              digits(el[2]) == str(stats[name]),
              f"overview: {name} shown as in /v1/stats ({stats[name]}): {el and el[2]!r}")
    check(stats["events"] > 0, f"overview: the stream was logged ({stats['events']} events)")
    models = [e[1].get("data-model") for e in dom.find() if e[1].get("data-model")]
    check(set(models) == set(stats["models"]), f"overview: models {models} = {stats['models']}")
    rec = metric(dom, "recommend_latency")
    p99 = stats["latency_ms"]["recommendations"]["p99"]
    check(rec is not None and rec[2].endswith("ms") and float(rec[1].get("data-value") or "nan") == p99,
          f"overview: recommend latency shown, p99 = /v1/stats ({rec and rec[2]!r}, {p99})")
    charts = [e for e in dom.elements if e[0] == "figure"]
    if history_status == 200:
        check(len(charts) == 5, f"overview: 5 charts from /v1/stats/history ({len(charts)})")
        paths = [e for e in dom.elements if e[0] == "path" and e[1].get("d", "").startswith("M")]
        check(len(paths) >= 4, f"overview: lines drawn in the charts ({len(paths)} paths)")
        eps = metric(dom, "events_per_s")
        last = [v for v in history["events_per_s"] if v is not None]
        check(eps is not None and eps[1].get("data-value") not in (None, ""),
              f"overview: events/s from the history's last interval ({eps and eps[2]!r}; "
              f"history {last[-3:]})")
    else:
        check(any("no GET /v1/stats/history" in e[2] for e in dom.with_class("notice")),
              f"overview: charts marked not available (history answers {history_status})")
    no_page_errors(dom, console, "overview")


def check_user(browser, server, events):
    _, expected = server.call("GET", "/v1/users/u1/recommendations?k=10&explain=true")
    user_status, user = server.call("GET", "/v1/users/u1?limit=50")
    dom, console = browser.open(server.url + "/#/user/u1", "user")
    check(dom.body.get("data-page") == "user" and dom.body.get("data-state") == "ready",
          f"user: rendered (body {dom.body})")
    recs = [e for e in dom.elements if e[0] == "li" and "rec" in (e[1].get("class") or "").split()]
    ids = [e[1].get("data-item") for e in recs]
    check(ids == [it["id"] for it in expected["items"]] and len(ids) > 0,
          f"user: recommendations {ids} = GET recommendations")
    reasons = [e[2].strip() for e in dom.with_class("reason")]
    check(len(reasons) == len(ids) and all(reasons),
          f"user: every recommendation has its reason {reasons[:3]}")
    for it in expected["items"]:
        if it.get("reason"):
            check(any(it["reason"] in r for r in reasons), f"user: reason {it['reason']!r} shown")
            break
    weights = dom.with_class("because")
    explained = [it for it in expected["items"] if "explanation" in it]
    check(len(weights) == len(explained) and len(explained) > 0,
          f"user: explain weights of {len(explained)} items shown ({len(weights)})")
    titles = [t for t in TITLES if any(t in e[2] for e in recs)]
    check(len(titles) > 0, f"user: recommended items listed with their titles {titles[:3]}")
    if user_status == 200:
        rows = [e for e in dom.elements if e[0] == "tr" and e[1].get("data-item")]
        check(len(rows) == len(user["history"]) == sum(1 for e in events if e["user"] == "u1"),
              f"user: history rows {len(rows)} = GET /v1/users/u1 ({len(user['history'])})")
        attrs = dom.by_id("user-attributes")
        check(attrs is not None and "plan: gold" in attrs[2], f"user: attributes shown ({attrs and attrs[2]!r})")
        first = user["history"][0]
        check(first["title"] is not None and first["title"] in rows[0][2] and first["type"] in rows[0][2],
              f"user: newest event with title and type ({rows[0][2]!r})")
    else:
        check(any("no GET /v1/users" in e[2] for e in dom.with_class("notice")),
              f"user: history marked not available (GET /v1/users/u1 answers {user_status})")
    no_page_errors(dom, console, "user")


def check_dry_run(browser, server):
    status, expected = server.call("POST", "/v1/users/u1/recommendations/dry-run",
                                   {"event": {"item": "i7", "type": "click"}, "k": 10, "explain": True})
    dom, console = browser.open(server.url + "/#/user/u1?try=i7&type=click", "user_dry_run")
    check(dom.body.get("data-state") == "ready", f"dry-run: rendered (body {dom.body})")
    narrow, narrow_console = browser.open(server.url + "/#/user/u1?try=i7&type=click",
                                          "user_dry_run_narrow", size="420,2400")
    check(narrow.body.get("data-state") == "ready" and not narrow_console,
          "dry-run: rendered on a narrow (420 px) screen")
    if status == 200:
        before = dom.by_id("dry-before")
        after = dom.by_id("dry-after")
        check(before is not None and after is not None, "dry-run: before and after lists shown")
        def listed(list_id):  # (id, classes) of the items of a list, in order
            return [(e[1].get("data-item"), (e[1].get("class") or "").split()) for e in dom.elements
                    if e[0] == "li" and e[1].get("data-item") and list_id in e[3]
                    and "rec" in (e[1].get("class") or "").split()]
        before_ids = [it["id"] for it in expected["before"]["items"]]
        after_ids = [it["id"] for it in expected["after"]["items"]]
        shown_before, shown_after = listed("dry-before"), listed("dry-after")
        check([i for i, _ in shown_before] == before_ids and [i for i, _ in shown_after] == after_ids
              and after_ids, f"dry-run: both lists as the API gives them ({after_ids})")
        for rank, (item, classes) in enumerate(shown_after):
            want = ("added" if item not in before_ids else
                    "up" if before_ids.index(item) > rank else
                    "down" if before_ids.index(item) < rank else None)
            check(want is None and not {"added", "up", "down"} & set(classes) or want in classes,
                  f"dry-run: {item} at {rank + 1} marked {want} ({classes})")
        for item, classes in shown_before:
            check(("dropped" in classes) == (item not in after_ids), f"dry-run: {item} dropped or not")
        changed = [e for e in dom.elements if e[1].get("data-changed") is not None]
        check(len(changed) == 1, "dry-run: the number of changes is stated")
    else:
        check(any("no dry-run route" in e[2] for e in dom.with_class("notice")),
              f"dry-run: marked not available (the route answers {status})")
    no_page_errors(dom, console, "dry-run")


def check_item(browser, server):
    status, item = server.call("GET", "/v1/items/i3")
    _, similar = server.call("GET", "/v1/items/i3/similar?k=10")
    dom, console = browser.open(server.url + "/#/item/i3", "item")
    check(dom.body.get("data-page") == "item" and dom.body.get("data-state") == "ready",
          f"item: rendered (body {dom.body})")
    if status == 200:
        title = dom.by_id("item-title")
        check(title is not None and title[2] == TITLES[3], f"item: title {title and title[2]!r}")
        el = metric(dom, "item_events")
        check(el is not None and el[1].get("data-value") == str(item["events"]),
              f"item: interactions {el and el[2]!r} = {item['events']}")
    else:
        check(any("no GET /v1/items/{id}" in e[2] for e in dom.with_class("notice")),
              f"item: content marked not available (GET /v1/items/i3 answers {status})")
    listed = [e[1].get("data-item") for e in dom.elements if e[0] == "li" and e[1].get("data-item")]
    check(listed == [it["id"] for it in similar["items"]] and listed,
          f"item: similar items {listed} = GET similar")
    no_page_errors(dom, console, "item")


def js(text):
    return json.dumps(text)


def submit(page, form_selector, fields):
    """Types `fields` ({selector: value}) and submits the form as a user would."""
    sets = "".join(f"document.querySelector({js(sel)}).value = {js(val)};" for sel, val in fields.items())
    page.evaluate(sets + f"document.querySelector({js(form_selector)}).requestSubmit(); true")


def check_keyed_server(chromium, binary, tmp, out_dir):
    """Through the DevTools protocol, on a server with keys: the sign-in form (a wrong key, then
    the read key), the admin dialog (refused with the read key, then the admin key: a snapshot),
    forgetting a user, signing out."""
    keys = {"FLYWHEEL_READ_KEY": "read-secret", "FLYWHEEL_WRITE_KEY": "write-secret",
            "FLYWHEEL_ADMIN_KEY": "admin-secret"}
    server = Server(binary, os.path.join(tmp, "keys"), "itemknn,pop", env=keys)
    page = None
    try:
        status, _ = server.call("GET", "/v1/stats")
        check(status == 401, "keys: the data routes keep their key (401 without)")
        fill(server, key="write-secret")
        page = cdp.Chromium(chromium, server.url + "/", os.path.join(tmp, "cdp-profile"),
                            extra=["--window-size=1280,900"])
        check(page.wait("document.body.dataset.page === 'login' && document.body.dataset.state === 'ready'"),
              "keys: the page opens on the sign-in form")
        page.screenshot(os.path.join(out_dir, "login.png"))
        submit(page, ".login form", {"#login-key": "wrong-key"})
        refused = page.wait("(document.querySelector('.login .notice.error') || {}).textContent")
        check(refused and "Unknown key" in refused, f"keys: a wrong key is refused ({refused!r})")
        submit(page, ".login form", {"#login-key": "read-secret"})
        check(page.wait("document.body.dataset.page === 'overview' && document.body.dataset.state === 'ready'"),
              "keys: the read key opens the overview")
        check(page.evaluate("sessionStorage.getItem('flywheel.key')") == "read-secret",
              "keys: the key is kept in sessionStorage")
        _, stats = server.call("GET", "/v1/stats", key="read-secret")
        shown = page.evaluate("document.querySelector('[data-metric=events]').dataset.value")
        check(shown == str(stats["events"]), f"keys: events {shown} = /v1/stats {stats['events']}")

        # Snapshot now: the read key is not enough; the dialog says so and stays open.
        page.evaluate("[...document.querySelectorAll('#session button')]"
                      ".find(b => b.textContent === 'Snapshot now').click(); true")
        check(page.wait("document.getElementById('admin-dialog').open"), "admin: the dialog opens")
        submit(page, "#admin-form", {"#admin-key": ""})
        denied = page.wait("!document.getElementById('admin-error').classList.contains('hidden') && "
                           "document.getElementById('admin-error').textContent")
        check(denied and "admin key" in denied and page.evaluate("document.getElementById('admin-dialog').open"),
              f"admin: the read key is refused, the dialog stays open ({denied!r})")
        page.screenshot(os.path.join(out_dir, "admin_dialog.png"))
        submit(page, "#admin-form", {"#admin-key": "admin-secret"})
        toast = page.wait("[...document.querySelectorAll('.toast')].map(t => t.textContent).join(' | ')")
        _, stats = server.call("GET", "/v1/stats", key="read-secret")
        check(toast and f"Snapshot written at event {stats['snapshot_seq']:,}" in toast and
              stats["snapshot_seq"] > 0, f"admin: snapshot written ({toast!r}, snapshot_seq "
                                         f"{stats['snapshot_seq']})")
        check(not page.evaluate("document.getElementById('admin-dialog').open"), "admin: the dialog closed")

        # Forget a user from their page.
        page.evaluate("location.hash = '#/user/u2'; true")
        check(page.wait("document.body.dataset.page === 'user' && document.body.dataset.state === 'ready'"),
              "admin: the user page opens")
        page.evaluate("document.querySelector('.entity-head button.danger').click(); true")
        check(page.wait("document.getElementById('admin-dialog').open"), "admin: forget asks first")
        submit(page, "#admin-form", {"#admin-key": "admin-secret"})
        toast = page.wait("[...document.querySelectorAll('.toast')].map(t => t.textContent)"
                          ".find(t => t.includes('forgotten'))")
        _, stats = server.call("GET", "/v1/stats", key="read-secret")
        check(toast and stats["forgotten_users"] == 1,
              f"admin: user forgotten ({toast!r}, forgotten_users {stats['forgotten_users']})")
        errors = page.evaluate("[...document.querySelectorAll('#fw-errors li')].map(l => l.textContent)")
        check(not errors, f"keys: no error listed by the page {errors}")

        page.evaluate("[...document.querySelectorAll('#session button')]"
                      ".find(b => b.textContent === 'Sign out').click(); true")
        check(page.wait("document.body.dataset.page === 'login'") and
              page.evaluate("sessionStorage.getItem('flywheel.key')") is None,
              "keys: sign out forgets the key")
    finally:
        if page is not None:
            page.close()
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--out", required=True, help="directory for screenshots and DOM dumps")
    parser.add_argument("--models", default="bpr,itemknn,pop")
    args = parser.parse_args()
    chromium = os.environ.get("FLYWHEEL_CHROMIUM") or shutil.which("chromium") or \
        shutil.which("chromium-browser")
    if not chromium or not os.access(chromium, os.X_OK):
        if os.environ.get("CI") == "true":
            print("FAIL: chromium not found (CI=true: install it with scripts/install_deps.sh)")
            return 1
        print("SKIP: chromium not found (apt-get install chromium)")
        return SKIP
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flywheel-dashboard-") as tmp:
        browser = Browser(chromium, args.out, tmp)
        server = Server(args.binary, os.path.join(tmp, "data"), args.models)
        try:
            events = fill(server)
            check_overview(browser, server)
            check_user(browser, server, events)
            check_dry_run(browser, server)
            check_item(browser, server)
        finally:
            server.stop()
        check_keyed_server(chromium, args.binary, tmp, args.out)
    print(f"screenshots and DOM dumps: {args.out}")
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
