/*
 * Whether the handheld reaches the server and is signed in: the pill in the
 * top bar (#net, with data-queued: the actions waiting to be sent), the
 * sign-in banner, and the API calls that find it out (JSON, or a photo).
 */
import { credentials, request } from '../api.js';
import { byId } from '../dom.js';
import { S } from './state.js';

const reconnected = [];

/** Runs `fn` whenever the server is reached again after being out of reach. */
export function onReconnect(fn) {
  reconnected.push(fn);
}

/**
 * A request to the API ({status, ok, data}), with the handheld's position
 * (X-Position) when it has one; throws when the server cannot be reached.
 */
export function api(method, path, body) {
  const headers = S.pos ? { 'X-Position': `${S.pos.lon},${S.pos.lat}` } : {};
  return request(method, path, body, { headers, cache: 'no-store' });
}

/**
 * POSTs a file (a photo) as the body: {status, ok, data}; throws when the server cannot be reached.
 * `key` (the outbox item's id) makes a resend store the photo once.
 */
export async function upload(path, blob, key) {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    cache: 'no-store',
    headers: {
      Accept: 'application/json', 'Content-Type': blob.type, 'Idempotency-Key': key, ...credentials('POST'),
    },
    body: blob,
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  return { status: res.status, ok: res.ok, data };
}

export function setOnline(on) {
  if (S.online === on) return;
  S.online = on;
  renderStatus();
  if (on) for (const fn of reconnected) fn();
}

export function setAuth(ok) {
  S.authed = ok;
  byId('auth-banner').hidden = ok !== false;
  renderStatus();
}

export function renderStatus() {
  const pill = byId('net');
  const waiting = S.outbox.filter((i) => i.status === 'queued').length;
  let text;
  let cls;
  if (!S.online) [text, cls] = ['Offline', 'offline'];
  else if (S.authed === false) [text, cls] = ['Signed out', 'offline'];
  else if (waiting) [text, cls] = ['Sending…', 'syncing'];
  else [text, cls] = ['Online', 'online'];
  if (waiting) text += ` · ${waiting} to send`;
  pill.textContent = text;
  pill.className = `pill ${cls}`;
  pill.dataset.queued = String(waiting);
}
