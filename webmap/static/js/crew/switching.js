/*
 * The crew's switching work: the issued switching orders with a step of its
 * own (GET /api/switching/orders?open=true), the safety documents issued to
 * it (/api/switching/safety?open=true) and the planned outages it works on
 * (/api/planned?open=true), kept in IndexedDB (kv 'switching', with the user
 * they are for) so a restart without signal still shows them.
 *
 * A step reported done and a release go through the outbox like every other
 * action (queued offline, replayed once); the server's answer to them is
 * the document as it is now, which replaces the kept one at once, so a step
 * goes from "queued" to done without a moment in between. An order or
 * document that leaves the open lists (completed, released) is read once
 * more and shown as finished for FINISHED_MS; one the crew may no longer
 * see (an order cancelled) is pointed out.
 */
import { now } from '../clock.js';
import { position } from './gps.js';
import { kvGet, kvSet } from './idb.js';
import { showAlert } from './notices.js';
import { enqueueTo, onSent } from './outbox.js';
import { S, render } from './state.js';
import { api, setAuth, setOnline } from './status.js';
import { isoLocal } from './time.js';
import { STEP_VERB } from './vocab.js';

const FINISHED_MS = 12 * 3600 * 1000;
const FINISHED = new Set(['completed', 'cancelled', 'released', 'rejected']);
const LISTS = {
  orders: { path: '/api/switching/orders', prefix: 'SO-' },
  safety: { path: '/api/switching/safety', prefix: 'SD-' },
  planned: { path: '/api/planned', prefix: 'PO-' },
};
const enc = encodeURIComponent;

/** The switching work kept for the user signed in last. */
export async function loadSwitching() {
  const kept = await kvGet('switching');
  if (kept && kept.user && kept.user === S.user?.username) {
    S.switching = { orders: kept.orders, safety: kept.safety, planned: kept.planned, synced: kept.synced };
  }
}

function keep() {
  return kvSet('switching', { user: S.user?.username || null, ...S.switching });
}

let loading = null;
let again = false;

/** Reloads the switching work (one load at a time; a call during one runs another after it). */
export function refreshSwitching() {
  if (loading) {
    again = true;
    return loading;
  }
  loading = load().finally(() => {
    loading = null;
    if (again) {
      again = false;
      refreshSwitching();
    }
  });
  return loading;
}

/** The last signature's time of a document, in epoch ms (when it became what it is). */
const since = (doc) => new Date(doc.signatures?.at(-1)?.at || 0).getTime();

/** The documents of `list` that left the open list: read again, kept a while once finished. */
async function finished(list, before, open) {
  const ids = new Set(open.map((d) => d.id));
  const out = [];
  for (const doc of before) {
    if (ids.has(doc.id)) continue;
    let done = FINISHED.has(doc.state) ? doc : null;
    if (!done) {
      const r = await api('GET', `${LISTS[list].path}/${enc(doc.id)}`);
      if (r.status === 200 && r.data) done = r.data;
      else if (r.status === 404) {
        showAlert(`${doc.id} is no longer issued to your crew (cancelled or changed by the control room).`,
          'warn', `gone:${doc.id}`);
      }
    }
    if (done && FINISHED.has(done.state) && now() - since(done) < FINISHED_MS) out.push(done);
  }
  return out;
}

async function load() {
  if (!S.user?.crew) {  // staff see every document on their own pages
    S.switching = { orders: [], safety: [], planned: [], synced: null };
    return;
  }
  let answers;
  try {
    answers = await Promise.all(Object.values(LISTS).map((l) => api('GET', `${l.path}?open=true`)));
  } catch {
    setOnline(false);
    return;
  }
  setOnline(true);
  if (answers.some((r) => r.status === 401)) {
    setAuth(false);
    return;
  }
  if (answers.some((r) => r.status !== 200 || !Array.isArray(r.data))) return;
  const [orders, safety, planned] = answers.map((r) => r.data);
  const W = S.switching;
  let gone;
  try {
    gone = {
      orders: await finished('orders', W.orders, orders),
      safety: await finished('safety', W.safety, safety),
    };
  } catch {
    setOnline(false);
    return;
  }
  S.switching = {
    orders: [...orders, ...gone.orders],
    safety: [...safety, ...gone.safety],
    planned,
    synced: new Date(now()).toISOString(),
  };
  await keep();
  render();
}

/** The server's answer to a step or a release: the document as it is now. */
onSent((item, answer) => {
  if (!item.doc || !answer || answer.id !== item.doc) return;
  const list = Object.keys(LISTS).find((k) => answer.id.startsWith(LISTS[k].prefix));
  if (!list) return;
  const docs = S.switching[list];
  const i = docs.findIndex((d) => d.id === answer.id);
  if (i >= 0) docs[i] = answer;
  else docs.unshift(answer);
  keep();
});

// ------------------------------------------------------------ derived state
/** The outbox's items on a document (and step), queued or refused. */
export const itemsFor = (docId, seq) =>
  S.outbox.filter((i) => i.doc === docId && (seq === undefined || i.step === seq));

/** A step: done (by the server), queued (here), refused (here, with the item) or open. */
export function stepStatus(order, step) {
  if (step.done) return { kind: 'done', time: step.done_at };
  const items = itemsFor(order.id, step.seq);
  const queued = items.find((i) => i.status === 'queued');
  if (queued) return { kind: 'queued', time: queued.body.time };
  const refused = items.find((i) => i.status !== 'queued');
  if (refused) return { kind: 'refused', item: refused };
  return { kind: 'open' };
}

/** The step the order stands at: the first neither done nor queued (null when none is left). */
export function nextStep(order) {
  if (!['issued', 'in_progress'].includes(order.state)) return null;
  return order.steps.find((s) => !['done', 'queued'].includes(stepStatus(order, s).kind)) || null;
}

/** Whether the step is this crew's. */
export const mine = (step) => Boolean(S.user?.crew) && step.performer === S.user.crew;

/** The step in words: "Open SW2", "Place tag on SW2 (clearance) for SD-000001". */
export function stepText(step) {
  const verb = STEP_VERB[step.action] || step.action;
  return `${verb} ${step.device}${step.tag ? ` (${step.tag})` : ''}${step.document ? ` for ${step.document}` : ''}`;
}

// ------------------------------------------------------------------ actions
/** Reports a step done: the time pressed and where, through the outbox. */
export async function stepDone(order, step) {
  const time = isoLocal();
  const pos = await position();
  const where = pos ? { lon: pos.lon, lat: pos.lat } : {};
  await enqueueTo(`/api/switching/orders/${enc(order.id)}/steps/${step.seq}`, 'step', { time, ...where },
    { doc: order.id, step: step.seq, label: `Step ${step.seq} of ${order.id} (${stepText(step)})` });
}

/** Releases a safety document (the crew's work under it is finished), through the outbox. */
export async function release(doc) {
  await enqueueTo(`/api/switching/safety/${enc(doc.id)}/release`, 'release', {},
    { doc: doc.id, label: `Release of ${doc.id}` });
}
