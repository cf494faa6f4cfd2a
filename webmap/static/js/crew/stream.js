/*
 * The live stream: Server-Sent Events read over fetch (so a bearer token can
 * be sent), reconnecting forever with a backoff. Job, crew and alert events
 * reload the jobs; a recall or cancellation is told to the crew at once.
 * Switching-desk events (order, safety, planned, field) and, while the crew
 * has orders open, device events reload the switching work (switching.js).
 * While signed out or offline, the session is probed now and then (the
 * browser's 'online' event is not always fired).
 */
import { send } from '../api.js';
import { refreshJobs } from './jobs.js';
import { showAlert } from './notices.js';
import { flushSoon } from './outbox.js';
import { loadSession } from './session.js';
import { S } from './state.js';
import { setAuth, setOnline } from './status.js';
import { refreshSwitching } from './switching.js';
import { ALERT_TEXT } from './vocab.js';

const MAX_BACKOFF_MS = 30000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const DESK = new Set(['order', 'safety', 'planned', 'field']);

let refreshTimer = null;
let switchingTimer = null;

/** Reloads the switching work in a moment. */
function switchingSoon() {
  clearTimeout(switchingTimer);
  switchingTimer = setTimeout(() => { refreshSwitching(); }, 300);
}

/** Reloads the jobs and the switching work in a moment (events come in bursts). */
export function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => { refreshJobs(); }, 300);
  switchingSoon();
}

function onEvent(kind, data) {
  if (kind === 'hello') return;
  if (kind === 'signed_out') { setAuth(false); return; }  // revoked or signed out
  if (kind === 'alert') {
    const a = data?.data || {};
    const say = ALERT_TEXT[a.kind];
    const lost = a.job && (a.kind === 'recalled' || a.kind === 'job_cancelled');
    if (say) showAlert(say(a), 'warn', lost ? `lost:${a.job}` : null);
    if (lost) S.noticed.add(a.job);
  }
  if (kind === 'job' || kind === 'crew' || kind === 'alert') refreshSoon();
  const open = S.switching.orders.some((o) => o.state === 'issued' || o.state === 'in_progress');
  if (DESK.has(kind) || (kind === 'device' && open)) switchingSoon();
}

/** One event block of the stream (the lines before a blank line). */
function parseBlock(block) {
  let kind = 'message';
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'event') kind = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') S.lastEventId = value;
  }
  if (!data.length) return;
  let parsed = null;
  try { parsed = JSON.parse(data.join('\n')); } catch { return; }
  onEvent(kind, parsed);
}

/** Reads one connection to its end. */
async function readStream(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let m;
    while ((m = /\r?\n\r?\n/.exec(buf))) {
      parseBlock(buf.slice(0, m.index));
      buf = buf.slice(m.index + m[0].length);
    }
  }
}

export async function streamLoop() {
  let backoff = 1000;
  for (;;) {
    if (S.authed !== true || !S.online) {
      await sleep(S.authed === false ? 15000 : 3000);
      if (await loadSession()) {
        refreshSoon();
        flushSoon(0);
      }
      continue;
    }
    try {
      const headers = S.lastEventId ? { 'Last-Event-ID': S.lastEventId } : {};
      const res = await send('GET', '/stream', undefined, { accept: 'text/event-stream', headers, cache: 'no-store' });
      if (res.status === 401) {
        setAuth(false);
        continue;
      }
      if (!res.ok || !res.body) throw new Error(`stream ${res.status}`);
      setOnline(true);
      backoff = 1000;
      refreshSoon();
      flushSoon(0);
      await readStream(res.body);
    } catch { /* dropped: reconnect */ }
    await sleep(backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}
