#!/usr/bin/env python3
"""A small client for Flywheel's HTTP API (doc/http_api.md), standard library only.

Use it as a module:

    from flywheel_client import FlywheelClient, FlywheelError
    fw = FlywheelClient("http://127.0.0.1:8080", key="my-write-key")
    fw.send_events([{"user": "u1", "item": "tent-2p", "type": "view",
                     "ts": "2026-11-24T10:00:00Z"}])
    for rec in fw.recommend("u1", k=5, explain=True)["items"]:
        print(rec["id"], rec["reason"])

or from the shell (the quick-start in README.md uses these):

    flywheel_client.py --url URL [--key KEY] import-items items.csv
    flywheel_client.py --url URL [--key KEY] send-events events.csv   (or .jsonl)
    flywheel_client.py --url URL [--key KEY] recommend USER [--k 5] [--explain]
    flywheel_client.py --url URL [--key KEY] similar ITEM [--k 5]
    flywheel_client.py --url URL [--key KEY] stats
    flywheel_client.py --url URL [--key KEY] demo     (imports the example shop, sends its
                                                       events, prints recommendations)

The key can also come from the environment variable FLYWHEEL_KEY. Errors from the server are
raised as FlywheelError (HTTP status, error code, message and the field it names); network
failures as FlywheelError with status 0. The CLI prints them and exits with status 1.
"""

import argparse
import csv
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

MAX_EVENTS_PER_BATCH = 10000  # the server's limit (doc/http_api.md, "Limits")
MAX_ITEMS_PER_BATCH = 1000


class FlywheelError(Exception):
    """An error answer of the server (status >= 400) or a transport failure (status 0)."""

    def __init__(self, status, code, message, field=None, errors=None):
        super().__init__(f"{status} {code}: {message}" + (f" (field {field})" if field else ""))
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.errors = errors or []


class FlywheelClient:
    """One Flywheel server. Thread-safe (every call opens its own request)."""

    def __init__(self, base_url, key=None, timeout=30.0):
        self.base_url = base_url.rstrip("/")
        self.key = key if key is not None else os.environ.get("FLYWHEEL_KEY") or None
        self.timeout = timeout

    # --- low level -------------------------------------------------------------------------

    def request(self, method, path, body=None, query=None):
        """Sends one request; returns the decoded JSON answer or raises FlywheelError."""
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.key:
            headers["Authorization"] = "Bearer " + self.key
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                text = res.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            raise _error_from(e.code, e.read().decode("utf-8", "replace")) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise FlywheelError(0, "unavailable", f"cannot reach {self.base_url}: {reason}") from None
        return json.loads(text) if text else {}

    # --- the API ---------------------------------------------------------------------------

    def send_events(self, events):
        """POST /v1/events in batches; returns the summed answer {accepted, duplicates, last_seq}.

        Each event: {"user", "item", "type", "ts"} and optionally "value", "id", "context". Give
        every event an "id" to make retries safe (the server drops repeated ids).
        """
        total = {"accepted": 0, "duplicates": 0, "last_seq": 0}
        for start in range(0, len(events), MAX_EVENTS_PER_BATCH):
            answer = self.request("POST", "/v1/events",
                                  {"events": events[start:start + MAX_EVENTS_PER_BATCH]})
            total["accepted"] += answer.get("accepted", 0)
            total["duplicates"] += answer.get("duplicates", 0)
            total["last_seq"] = answer.get("last_seq", total["last_seq"])
        return total

    def send_event(self, user, item, type_, ts, **extra):
        """One event (see send_events)."""
        return self.send_events([dict({"user": user, "item": item, "type": type_, "ts": ts},
                                      **extra)])

    def import_items(self, items):
        """POST /v1/items:batch in batches of 1,000; returns the number of items imported.

        Each item: {"id", "title", "categories": [...], "tags": [...], "attributes": {...},
        "created"}; every field but "id" is optional.
        """
        count = 0
        for start in range(0, len(items), MAX_ITEMS_PER_BATCH):
            answer = self.request("POST", "/v1/items:batch",
                                  {"items": items[start:start + MAX_ITEMS_PER_BATCH]})
            count += answer.get("items", 0)
        return count

    def put_item(self, item_id, **content):
        return self.request("PUT", "/v1/items/" + urllib.parse.quote(item_id, safe=""), content)

    def recommend(self, user, k=10, explain=False, categories=None, model=None):
        """GET /v1/users/{user}/recommendations: {"items": [{"id", "score", "reason"}...]}."""
        query = {"k": k}
        if explain:
            query["explain"] = "true"
        if categories:
            query["categories"] = ",".join(categories)
        if model:
            query["model"] = model
        path = "/v1/users/" + urllib.parse.quote(user, safe="") + "/recommendations"
        return self.request("GET", path, query=query)

    def similar(self, item, k=10, model=None):
        query = {"k": k}
        if model:
            query["model"] = model
        path = "/v1/items/" + urllib.parse.quote(item, safe="") + "/similar"
        return self.request("GET", path, query=query)

    def stats(self):
        return self.request("GET", "/v1/stats")


def _error_from(status, text):
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        return FlywheelError(status, "http_error", text[:200])
    return FlywheelError(status, doc.get("code", "http_error"), doc.get("message", ""),
                         doc.get("field"), doc.get("errors"))


# --- files ---------------------------------------------------------------------------------

def read_events(path):
    """Events from a CSV file (header user,item,type,ts[,value][,id]) or JSON Lines."""
    if path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    events = []
    with open(path, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            missing = [k for k in ("user", "item", "type", "ts") if not row.get(k)]
            if missing:
                raise ValueError(f"{path}:{line}: missing {', '.join(missing)}")
            event = {"user": row["user"], "item": row["item"], "type": row["type"],
                     "ts": int(row["ts"]) if row["ts"].isdigit() else row["ts"]}
            if row.get("value"):
                event["value"] = float(row["value"])
            # An id per event makes re-sending the file harmless (repeats are dropped).
            event["id"] = row.get("id") or f"{os.path.basename(path)}:{line}"
            events.append(event)
    return events


def read_items(path):
    """Items from a CSV catalogue (doc/formats/catalog_file.md) or JSON Lines."""
    if path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    items = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            item = {"id": row.pop("id")}
            if row.get("title"):
                item["title"] = row.pop("title")
            for key in ("categories", "tags"):
                value = row.pop(key, "")
                if value:
                    item[key] = [part.strip() for part in value.split(";")]
            created = row.pop("created", "")
            if created:
                item["created"] = int(created) if created.isdigit() else created
            attributes = {k: v for k, v in row.items() if v}
            if attributes:
                item["attributes"] = attributes
            items.append(item)
    return items


# --- CLI -----------------------------------------------------------------------------------

def _print_recommendations(answer):
    for rank, rec in enumerate(answer.get("items", []), start=1):
        print(f"{rank:2d}. {rec['id']:<12} {rec.get('score', 0):8.3f}  {rec.get('reason', '')}")
        explanation = rec.get("explanation") or {}
        for because in explanation.get("because", []):
            print(f"      because of {because['item']} (weight {because['weight']:.2f})")


def _demo(fw, shop_dir):
    items = read_items(os.path.join(shop_dir, "items.csv"))
    print(f"imported {fw.import_items(items)} items")
    answer = fw.send_events(read_events(os.path.join(shop_dir, "events.csv")))
    print(f"sent events: {answer['accepted']} accepted, {answer['duplicates']} duplicates")
    for user in ("backpacker-1", "winter-2"):
        print(f"recommendations for {user}:")
        _print_recommendations(fw.recommend(user, k=5, explain=True))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Flywheel HTTP API client")
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--key", default=None, help="API key (default: $FLYWHEEL_KEY)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("import-items").add_argument("file")
    sub.add_parser("send-events").add_argument("file")
    rec = sub.add_parser("recommend")
    rec.add_argument("user")
    rec.add_argument("--k", type=int, default=10)
    rec.add_argument("--explain", action="store_true")
    sim = sub.add_parser("similar")
    sim.add_argument("item")
    sim.add_argument("--k", type=int, default=10)
    sub.add_parser("stats")
    demo = sub.add_parser("demo")
    demo.add_argument("--shop", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "..", "shop"))
    args = parser.parse_args(argv)
    fw = FlywheelClient(args.url, key=args.key)
    try:
        if args.command == "import-items":
            print(json.dumps({"items": fw.import_items(read_items(args.file))}))
        elif args.command == "send-events":
            print(json.dumps(fw.send_events(read_events(args.file))))
        elif args.command == "recommend":
            _print_recommendations(fw.recommend(args.user, k=args.k, explain=args.explain))
        elif args.command == "similar":
            _print_recommendations(fw.similar(args.item, k=args.k))
        elif args.command == "stats":
            print(json.dumps(fw.stats(), indent=2))
        else:
            _demo(fw, args.shop)
    except FlywheelError as e:
        print(f"flywheel_client: {e}", file=sys.stderr)
        for err in e.errors[:20]:
            print(f"  [{err.get('index')}] {err.get('field')}: {err.get('message')}",
                  file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print(f"flywheel_client: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
