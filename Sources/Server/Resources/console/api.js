// Talking to the UrgencyIQ API. Errors come back as JSON {"error": "..."}.
// The API key (or the server's ADMIN_TOKEN) lives in sessionStorage, this tab only, and goes in the
// Authorization header: never in a URL, never in a log.

const TOKEN_KEY = 'urgencyiq.apiKey';

export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage unavailable: nothing to keep */ }
}

export class ApiError extends Error {
  constructor(status, message, data, headers) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.data = data;
    this.headers = headers;
    const retry = headers ? headers.get('Retry-After') : null;
    this.retryAfter = retry !== null && retry !== '' && Number.isFinite(Number(retry)) ? Number(retry) : null;
  }

  get isAuth() { return this.status === 401 || this.status === 403; }
  get isForbidden() { return this.status === 403; }
  get isMissing() { return this.status === 404 || this.status === 405; }
}

// Called with the server's message when an answer is 401 (no key, or the key is unknown, revoked or expired).
let unauthorizedHandler = null;
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

/** The headers that carry the key, for callers that fetch by themselves (the event stream). */
export function authHeaders(token = getToken()) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The server's {"error": "..."} text of an answer, else its status line. */
export function errorMessage(response, data) {
  return data && typeof data === 'object' && typeof data.error === 'string'
    ? data.error
    : `${response.status} ${response.statusText || 'error'}`;
}

/**
 * api('/api/messages', {method, body, signal}) → {data, status, headers}.
 * Sends the stored key with every call. A 401 is reported to the onUnauthorized handler (which asks for a
 * key) unless `prompt: false`; `token` tries another key than the stored one.
 */
export async function api(path, { method = 'GET', body, signal, token, prompt = true } = {}) {
  const sent = token === undefined ? getToken() : token;
  if (sent && !/^[\x21-\x7E]+$/.test(sent)) {
    throw new ApiError(0, 'That key has characters no key has (spaces or letters beyond ASCII): check what was pasted.', null, null);
  }
  const headers = { Accept: 'application/json', ...authHeaders(sent) };
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, signal, cache: 'no-store' });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The server cannot be reached. Is it running?', null, null);
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!response.ok) {
    const message = errorMessage(response, data);
    if (response.status === 401 && prompt && unauthorizedHandler) unauthorizedHandler(message, sent);
    throw new ApiError(response.status, message, data, response.headers);
  }
  return { data, status: response.status, headers: response.headers };
}

/** The URL of rel="next" in a Link header, or null. */
export function nextLink(headers) {
  const link = headers && headers.get('Link');
  if (!link) return null;
  for (const part of link.split(',')) {
    const m = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (m && /rel="?next"?/.test(m[2])) return m[1];
  }
  return null;
}

/** {count, estimate} from X-Total-Count / X-Total-Count-Estimate, or null. */
export function totalCount(headers) {
  if (!headers) return null;
  const exact = headers.get('X-Total-Count');
  if (exact !== null && exact !== '') return { count: Number(exact), estimate: false };
  const est = headers.get('X-Total-Count-Estimate');
  if (est !== null && est !== '') return { count: Number(est), estimate: true };
  return null;
}

export function queryString(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
