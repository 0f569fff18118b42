// Talks to this node's HTTP API. Every answer is the envelope {code, message, data | error};
// a failure becomes an ApiError carrying the HTTP status, the code and the API's own words.

const TOKEN_KEY = 'cairn.token';

export class ApiError extends Error {
  constructor(status, body) {
    const details = body?.error?.details ?? '';
    super(`${body?.message ?? `HTTP ${status}`}${details ? `: ${details}` : ''}`);
    this.status = status;
    this.code = body?.code ?? 0;
    this.details = details;
    this.field = body?.error?.field ?? '';
    this.requestId = body?.request_id ?? '';
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set: (t) => (t ? sessionStorage.setItem(TOKEN_KEY, t) : sessionStorage.removeItem(TOKEN_KEY)),
};

/// This tab's X-Client-ID ("cairn-console:<8 hex>"): the console appears under it in the client
/// registry (GET /api/v1/clients), apart from the applications.
export function consoleClientId() {
  let id = sessionStorage.getItem('cairn.client-id');
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(4));
    id = `cairn-console:${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
    sessionStorage.setItem('cairn.client-id', id);
  }
  return id;
}

export function headers(extra = {}) {
  const h = { ...extra, 'X-Client-ID': consoleClientId() };
  const t = token.get();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

/// GET/POST/PUT/DELETE `path`; `query` values that are '' or undefined are left out.
export async function call(method, path, { query, body } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== '' && v !== null) url.searchParams.set(k, v);
  }
  const init = { method, headers: headers(body ? { 'Content-Type': 'application/json' } : {}) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(url, init);
  let env = null;
  try {
    env = await res.json();
  } catch {
    env = { message: `HTTP ${res.status} ${res.statusText}` };
  }
  if (!res.ok || env.code !== 0) throw new ApiError(res.status, env);
  return env.data ?? {};
}

export const get = (path, query) => call('GET', path, { query });
export const post = (path, body) => call('POST', path, { body });
export const put = (path, body) => call('PUT', path, { body });
export const del = (path, query) => call('DELETE', path, { query });

/// True when the endpoint does not exist on this server (a feature not built or not enabled).
export const notAvailable = (e) => e instanceof ApiError && e.status === 404 && e.code === 40401;

/// Waits (at most ~3 s) until `check()` resolves truthy. A write answered by the leader may not
/// be applied yet on the node this page talks to (docs/cluster.md): views call this after a write
/// so that the page they show next already contains it.
export async function settle(check) {
  for (let i = 0; i < 30; i++) {
    try {
      if (await check()) return true;
    } catch { /* keep waiting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
