// The dashboard's client of the HTTP API (doc/http_api.md). The key the user signed in with is
// kept in sessionStorage (gone when the tab closes) and sent as `Authorization: Bearer <key>`;
// a server without keys (loopback only) needs none.

const KEY = "flywheel.key";

export class ApiError extends Error {
  constructor(status, body, path) {
    super((body && body.message) || `HTTP ${status} on ${path}`);
    this.status = status;
    this.code = body && body.code;
    this.field = body && body.field;
    this.path = path;
  }
  // The route itself is missing (an older server), not the resource it names: 404 "no route",
  // or 405 where the path is known under another method only (GET /v1/items/{id} next to PUT).
  get routeMissing() {
    return (this.status === 404 && /^no route /.test(this.message)) || this.status === 405;
  }
}

export const auth = {
  key() {
    return sessionStorage.getItem(KEY) || "";
  },
  setKey(key) {
    if (key) sessionStorage.setItem(KEY, key);
    else sessionStorage.removeItem(KEY);
  },
};

// fetch + JSON; throws ApiError on a non-2xx answer. `key` overrides the signed-in key (admin
// actions pass the admin key typed in their dialog).
export async function api(path, { method = "GET", body, key, signal } = {}) {
  const headers = { Accept: "application/json" };
  const token = key !== undefined ? key : auth.key();
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method, headers, signal, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, { message: "the server cannot be reached (" + e.message + ")" }, path);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) throw new ApiError(res.status, json, path);
  return json;
}

export const enc = encodeURIComponent;
