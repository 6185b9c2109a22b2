// The console's link to the REST API (docs/api.md).  The access token
// lives only in this module's memory; the refresh token is an HttpOnly
// cookie that only /v1/auth/* receives, asked for with the session
// header and guarded by the CSRF header (docs/api.md, "Sessions in a
// browser").  Every request goes to this origin.

const SESSION_HEADERS = {
  "X-Ballast-Session": "cookie",
  "X-CSRF": "1",
};

let access = null;        // the access JWT, never stored anywhere else
let user = null;
let refreshing = null;    // one refresh at a time in this tab

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || ("HTTP " + status));
    this.status = status;
    this.code = code || "";
  }
}

async function parse(r) {
  const text = await r.text();
  let body = null;
  if (text) {
    try { body = JSON.parse(text); } catch (e) { body = null; }
  }
  if (!r.ok) {
    const e = body && body.error ? body.error : {};
    throw new ApiError(r.status, e.code, e.message);
  }
  return body;
}

async function sessionCall(path, body) {
  const r = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: Object.assign({ "Content-Type": "application/json" }, SESSION_HEADERS),
    body: JSON.stringify(body || {}),
  });
  return parse(r);
}

function take(answer) {
  access = answer.access_token;
  user = answer.user;
  return user;
}

export function currentUser() { return user; }
export function signedIn() { return access !== null; }

export async function login(email, password) {
  return take(await sessionCall("/v1/auth/login", { email, password }));
}

// Several tabs share one cookie; a refresh token is good once, so they
// take turns (the Web Locks API) and a tab never sends a spent one.
async function doRefresh() {
  const run = async () => take(await sessionCall("/v1/auth/refresh"));
  if (navigator.locks && navigator.locks.request)
    return navigator.locks.request("ballast-refresh", run);
  return run();
}

export function refresh() {
  if (!refreshing)
    refreshing = doRefresh().finally(() => { refreshing = null; });
  return refreshing;
}

export async function logout() {
  const headers = Object.assign({ "Content-Type": "application/json" }, SESSION_HEADERS);
  if (access) headers.Authorization = "Bearer " + access;
  access = null;
  user = null;
  const r = await fetch("/v1/auth/logout", {
    method: "POST", credentials: "same-origin", headers, body: "{}",
  });
  await r.text();
}

function forget() { access = null; user = null; }

// A REST call with the access token; one refresh and retry on a 401.
export async function api(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    if (access) headers.Authorization = "Bearer " + access;
    const init = { method, headers, credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    if (r.status === 401 && attempt === 0) {
      try { await refresh(); continue; } catch (e) { forget(); }
    }
    return parse(r);
  }
}
