/*
 * Requests to this server's JSON API, with the page's credentials.
 *
 * `auth` holds them: the session's CSRF token (sent as X-CSRFToken on
 * requests that change state) or a device's bearer token (sent instead, as
 * Authorization: Bearer). A page sets them once it knows them, and may set
 * `renew` (fetch a fresh CSRF token) and `signedOut` (what to do on a 401)
 * for call().
 *
 * send() gives the Response; request() the status and the JSON body and
 * throws only when the server cannot be reached; call() the JSON body, and
 * throws an ApiError with the server's reason for any other answer than a
 * success. URLs are the API's absolute paths.
 */

export const auth = {
  csrf: null,        // the session's CSRF token
  token: null,       // a device's bearer token (then no CSRF token is needed)
  renew: null,       // async () => void: fetch a fresh CSRF token into auth.csrf
  signedOut: null,   // () => void: the server answered 401 to call()
};

const SAFE = new Set(['GET', 'HEAD']);

/** The CSRF token the page was rendered with (<meta name="csrf-token">). */
export function pageCsrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? '';
}

/** The credential headers for a request with this method. */
export function credentials(method = 'GET') {
  if (auth.token) return { Authorization: `Bearer ${auth.token}` };
  if (auth.csrf && !SAFE.has(method)) return { 'X-CSRFToken': auth.csrf };
  return {};
}

/**
 * fetch() with the credentials, a JSON body (when `body` is not undefined)
 * and the other fetch options (`headers` are added, `accept` replaces the
 * Accept header).
 */
export function send(method, url, body, { headers = {}, accept = 'application/json', ...init } = {}) {
  const all = { Accept: accept, ...credentials(method), ...headers };
  if (body !== undefined) all['Content-Type'] = 'application/json';
  return fetch(url, {
    credentials: 'same-origin',
    ...init,
    method,
    headers: all,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** {status, ok, statusText, data}: data is the JSON body, or null. Throws when offline. */
export async function request(method, url, body, options) {
  const res = await send(method, url, body, options);
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  return { status: res.status, ok: res.ok, statusText: res.statusText, data };
}

/** The server's reason in an error body: its `error`, else its rejected lines' errors. */
export function problem(data) {
  if (!data || typeof data !== 'object') return null;
  if (data.error) return String(data.error);
  if (Array.isArray(data.rejected) && data.rejected.length) {
    return data.rejected.map((r) => r.error ?? String(r)).join('; ');
  }
  return null;
}

/** An answer other than a success, with the server's reason as the message. */
export class ApiError extends Error {
  constructor(message, status, data) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.data = data;
  }
}

const isCsrfRefusal = (r) => r.status === 400 && /csrf/i.test(r.data?.error ?? '');

/**
 * The JSON body of a successful answer. A refused CSRF token is renewed
 * (auth.renew) and the request sent once more; a 401 calls auth.signedOut.
 */
export async function call(method, url, body, options) {
  let r = await request(method, url, body, options);
  if (r.status === 401) {
    auth.signedOut?.();
    throw new ApiError('signed out', 401, r.data);
  }
  if (isCsrfRefusal(r) && !SAFE.has(method) && auth.renew) {
    await auth.renew();
    r = await request(method, url, body, options);
  }
  if (!r.ok) throw new ApiError(problem(r.data) || `${r.status} ${r.statusText}`, r.status, r.data);
  return r.data;
}
