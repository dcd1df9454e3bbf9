// Flywheel in a web page: send an event when a visitor clicks a product, and render the
// visitor's recommendations. An ES module, no dependencies (fetch); works in browsers and in
// Node >= 18 (tested with node by tests/e2e/examples_test.cc through test_flywheel.mjs; the
// DOM functions there with stand-in elements).
//
// Deployment: do not put an API key in a public page. Serve Flywheel under your site's origin
// through your reverse proxy (e.g. /flywheel/ -> http://127.0.0.1:8080/, the proxy adding
// "Authorization: Bearer <write key>"), and create the client with {baseUrl: "/flywheel"}.
// The `key` option is for internal tools and tests.
//
//   import {createClient, renderRecommendations, trackClicks} from "./flywheel.js";
//   const fw = createClient({baseUrl: "/flywheel"});
//   const list = document.getElementById("recs");
//   renderRecommendations(list, (await fw.recommend(userId, {k: 5})).items);
//   trackClicks(list, fw, userId);   // every click on a [data-item] element sends an event

export class FlywheelError extends Error {
  constructor(status, code, message, field) {
    super(`${status} ${code}: ${message}` + (field ? ` (field ${field})` : ""));
    this.status = status;   // HTTP status; 0 when the server could not be reached
    this.code = code;       // "invalid_argument", "unauthenticated", ...
    this.field = field || null;
  }
}

export function createClient({baseUrl = "", key = null, fetchImpl = globalThis.fetch} = {}) {
  const base = baseUrl.replace(/\/+$/, "");

  async function request(method, path, body, query) {
    let url = base + path;
    if (query) {
      url += "?" + new URLSearchParams(query).toString();
    }
    const headers = {Accept: "application/json"};
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    if (key) {
      headers.Authorization = "Bearer " + key;
    }
    let res;
    try {
      res = await fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new FlywheelError(0, "unavailable", `cannot reach ${base || "the server"}: ${e.message}`);
    }
    const text = await res.text();
    let doc = null;
    try {
      doc = text ? JSON.parse(text) : {};
    } catch (e) {
      doc = null;
    }
    if (!res.ok) {
      throw new FlywheelError(res.status, (doc && doc.code) || "http_error",
                              (doc && doc.message) || text.slice(0, 200), doc && doc.field);
    }
    return doc;
  }

  return {
    // One event now (ts: the browser's clock, in milliseconds). `extra`: value, id, context.
    sendEvent(user, item, type = "click", extra = {}) {
      const event = Object.assign({user, item, type, ts: Date.now()}, extra);
      return request("POST", "/v1/events", {events: [event]});
    },
    recommend(user, {k = 10, explain = false, categories = null} = {}) {
      const query = {k: String(k)};
      if (explain) {
        query.explain = "true";
      }
      if (categories && categories.length) {
        query.categories = categories.join(",");
      }
      return request("GET", `/v1/users/${encodeURIComponent(user)}/recommendations`, undefined,
                     query);
    },
    similar(item, {k = 10} = {}) {
      return request("GET", `/v1/items/${encodeURIComponent(item)}/similar`, undefined,
                     {k: String(k)});
    },
  };
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

// The HTML of a recommendations list: one <li data-item="ID"> per item with its title (from
// `titles`, an id -> title map, else the id) and its reason. Every text is escaped.
export function recommendationsHtml(items, titles = {}) {
  if (!items || items.length === 0) {
    return '<li class="flywheel-empty">No recommendations yet.</li>';
  }
  return items.map((rec) => {
    const title = titles[rec.id] || rec.id;
    const reason = rec.reason ? `<span class="flywheel-reason">${escapeHtml(rec.reason)}</span>` : "";
    return `<li data-item="${escapeHtml(rec.id)}"><a href="#">${escapeHtml(title)}</a> ${reason}</li>`;
  }).join("");
}

// Renders into a list element (browser).
export function renderRecommendations(listElement, items, titles = {}) {
  listElement.innerHTML = recommendationsHtml(items, titles);
}

// Sends a "click" event for every click on an element with data-item inside `container`
// (browser). `onError` gets the FlywheelError of a failed send (default: console.warn).
export function trackClicks(container, client, user, onError = (e) => console.warn(e)) {
  container.addEventListener("click", (event) => {
    const target = event.target.closest("[data-item]");
    if (target) {
      event.preventDefault();
      client.sendEvent(user, target.dataset.item, "click").catch(onError);
    }
  });
}
