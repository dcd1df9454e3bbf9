// The dashboard (doc/dashboard.md): a one-page app with hash routes
//   #/login  #/overview  #/user[/<id>[?try=<item>&type=<event type>]]  #/item[/<id>]
// served by `flywheel serve` at / from files compiled into the binary. <body data-page, data-state>
// say which page is shown and whether it finished loading (loading | ready | error).
import { api, auth, ApiError } from "./api.js";
import { h, fill, notice, fmtInt } from "./dom.js";
import { renderOverview } from "./overview.js";
import { renderUser } from "./user.js";
import { renderItem } from "./item.js";

const main = document.getElementById("main");
let current = null;  // {stop} of the page shown
let serverOpen = false;  // the server answered without a key (no keys configured, loopback)
let probed = false;  // GET /v1/stats answered with the stored key (checked once per sign-in)

function setState(page, state) {
  document.body.dataset.page = page;
  document.body.dataset.state = state;
  // The time to a rendered page, as the bench reads it (bench/dashboard_bench.py).
  if (state === "ready" && !performance.getEntriesByName("flywheel:ready:" + page).length) {
    performance.mark("flywheel:ready:" + page);
  }
}

function toast(text, kind = "ok") {
  const el = h("div", { class: "toast " + kind, role: "status" }, text);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.remove(), 6000);
}

function showError(e) {
  if (e instanceof ApiError && e.status === 401) {
    auth.setKey("");
    probed = false;
    location.hash = "#/login";
    return;
  }
  toast(e.message || String(e), "error");
}

// The confirm dialog of an admin action: `call(key)` runs with the typed admin key (or the
// signed-in one); the dialog stays open on 401/403 so that the right key can be typed.
function adminAction({ title, text, confirm, call, danger = false }) {
  const dialog = document.getElementById("admin-dialog");
  const form = document.getElementById("admin-form");
  const keyInput = document.getElementById("admin-key");
  const error = document.getElementById("admin-error");
  fill(document.getElementById("admin-title"), title);
  fill(document.getElementById("admin-text"), text);
  const confirmButton = document.getElementById("admin-confirm");
  fill(confirmButton, confirm);
  confirmButton.className = danger ? "danger" : "primary";
  error.classList.add("hidden");
  keyInput.value = "";
  return new Promise((resolve) => {
    const close = (result) => {
      form.onsubmit = null;
      dialog.close();
      resolve(result);
    };
    document.getElementById("admin-cancel").onclick = () => close(null);
    dialog.oncancel = () => resolve(null);
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      try {
        close(await call(keyInput.value || auth.key()));
      } catch (e) {
        fill(error, e.status === 403 && serverOpen
          ? "Admin routes are disabled on this server: it has no API keys configured. " + e.message
          : e.status === 401 || e.status === 403 ? "This needs the admin key: " + e.message : e.message);
        error.classList.remove("hidden");
      }
    };
    dialog.showModal();
    keyInput.focus();
  });
}

function snapshotNow() {
  adminAction({ title: "Write a snapshot now?",
    text: "The server writes a snapshot of its state (recovery then replays only the events after it).",
    confirm: "Snapshot now", call: (key) => api("/v1/admin/snapshot", { method: "POST", key }) })
    .then((r) => r && toast(`Snapshot written at event ${fmtInt(r.snapshot_seq)}.`), showError);
}

function renderSession() {
  const el = document.getElementById("session");
  if (document.body.dataset.page === "login") return fill(el);
  fill(el, h("span", { class: "muted" }, serverOpen ? "no keys (loopback)" : "signed in"),
    h("button", { type: "button", onclick: snapshotNow }, "Snapshot now"),
    serverOpen ? null : h("button", { type: "button", onclick: () => {
      auth.setKey("");
      probed = false;
      location.hash = "#/login";
    } }, "Sign out"));
}

function renderLogin(root, ctx, reason) {
  const key = h("input", { id: "login-key", type: "password", required: true, autocomplete: "off" });
  const msg = h("div", { "aria-live": "polite" }, reason ? notice("error", reason) : null);
  const submit = async (ev) => {
    ev.preventDefault();
    try {
      await api("/v1/stats", { key: key.value });
      auth.setKey(key.value);
      probed = true;
      serverOpen = false;
      location.hash = "#/overview";
    } catch (e) {
      fill(msg, notice("error", e.status === 401 ? "Unknown key: " + e.message : e.message));
    }
  };
  fill(root, h("section", { class: "card login", "aria-label": "Sign in" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "This server needs an API key (read, write or admin). It is kept " +
      "in this tab's session storage only and sent as “Authorization: Bearer …”."),
    h("form", { onsubmit: submit },
      h("label", { for: "login-key" }, "API key"), key,
      h("button", { type: "submit", class: "primary" }, "Sign in")),
    msg));
  key.focus();
  ctx.ready();
  return {};
}

// Whether the server answers GET /v1/stats with the stored key (or none).
async function probe() {
  try {
    await api("/v1/stats");
    serverOpen = !auth.key();
    return null;
  } catch (e) {
    if (e.status === 401) return auth.key() ? "The stored key was refused: " + e.message : "";
    throw e;
  }
}

async function route() {
  if (current && current.stop) current.stop();
  current = null;
  const [path, query = ""] = location.hash.split("?");
  const params = new URLSearchParams(query);
  const [, page = "overview", ...rest] = path.replace(/^#\/?/, "#/").split("/");
  const id = rest.length ? decodeURIComponent(rest.join("/")) : "";
  const name = ["overview", "user", "item", "login"].includes(page) ? page : "overview";
  setState(name, "loading");
  const ctx = { ready: () => setState(document.body.dataset.page, "ready"),
    fail: (e) => fail(document.body.dataset.page, e), showError, toast, adminAction,
    refresh: () => route() };
  for (const a of document.querySelectorAll("#nav a")) {
    a.toggleAttribute("aria-current", a.dataset.nav === name);
  }
  renderSession();
  main.focus({ preventScroll: true });
  try {
    if (name === "login") {
      current = renderLogin(main, ctx, "");
      return;
    }
    const refused = probed ? null : await probe();
    probed = refused === null;
    if (refused !== null) {
      setState("login", "loading");
      renderSession();
      current = renderLogin(main, ctx, refused);
      return;
    }
    renderSession();
    const render = { overview: renderOverview, user: renderUser, item: renderItem }[name];
    current = render(main, ctx, id, params);
    await current.done;
  } catch (e) {
    fail(name, e);
  }
}

function fail(name, e) {
  setState(name, "error");
  fill(main, notice("error", "Could not load this page: " + (e.message || e)));
}

window.addEventListener("hashchange", route);
route();
