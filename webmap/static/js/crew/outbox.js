/*
 * The outbox: every action the crew takes goes into IndexedDB first, with a
 * client-made event id (the idempotency key) and the time the button was
 * pressed, and is then sent in order whenever the server can be reached.
 *
 * A replay after a lost answer is harmless (the server counts it as a
 * duplicate). An action the server refuses (the job was recalled or
 * reassigned meanwhile) stays, with the server's reason, until the crew
 * dismisses it; one refused for warnings to acknowledge (a switching step:
 * "... (acknowledge: parallel)") is sent again, as a new action, once the
 * crew acknowledges them. Sending holds a Web Lock, so two tabs never send
 * at once.
 *
 * A damage report's photos are items of their own (the image kept as a Blob),
 * queued with the report in one transaction just before it: each is
 * uploaded once, and its server id is written into the report's item as the
 * photo's item is deleted (one transaction again), so the report goes out
 * naming the photos that made it.
 */
import { auth, problem } from '../api.js';
import { eventId } from './ids.js';
import { idbAll, idbDelete, idbPut, tx } from './idb.js';
import { loadSession } from './session.js';
import { S, render } from './state.js';
import { api, renderStatus, setAuth, setOnline, upload } from './status.js';
import { isoLocal } from './time.js';
import { RETRY_MS, STAGES, STATE_ORDER } from './vocab.js';

const answeredHooks = [];
const sentHooks = [];
const refusedHooks = [];

/** Runs `fn` after a round of sending that the server answered (the jobs changed). */
export function onAnswered(fn) {
  answeredHooks.push(fn);
}

/** Runs `fn(item)` when the server refused an item (``item.error`` says why). */
export function onRefused(fn) {
  refusedHooks.push(fn);
}

/** Runs `fn(item, answer)` when the server accepted an item (its answer's JSON body). */
export function onSent(fn) {
  sentHooks.push(fn);
}

export async function loadOutbox() {
  const items = await idbAll('outbox');
  items.sort((a, b) => a.seq - b.seq);
  S.outbox = items;
  S.seq = items.reduce((m, i) => Math.max(m, i.seq), S.seq);
}

function actionPath(jobId, action) {
  return jobId
    ? `/api/jobs/${encodeURIComponent(jobId)}/${action}`
    : `/api/crews/${encodeURIComponent(S.user?.crew || '')}/${action}`;
}

/**
 * Queues an action on a job (or, with jobId null, on the crew) with its
 * idempotency key and the time it was taken, and tries to send it.
 * `quiet`: not counted as waiting on the job's card (delivery receipts).
 */
export function enqueue(jobId, action, extra, quiet) {
  return queue({ job: jobId, action, path: actionPath(jobId, action), quiet: Boolean(quiet) }, extra);
}

/**
 * Queues an action sent to `path` (a switching step, a release), not on a
 * job. `meta`: what the views show of it ({doc, step, label}).
 */
export function enqueueTo(path, action, extra, meta) {
  return queue({ job: null, action, path, quiet: false, ...meta }, extra);
}

/**
 * Queues a damage report (its body: `extra`) after its photos (Blobs), all in
 * one transaction. `meta`: {job, label} of the report.
 */
export async function enqueueReport(path, action, extra, meta, blobs) {
  const n = blobs.length;
  const photos = blobs.map((blob, k) => newItem({
    job: meta.job, action: 'photo', path: '/api/photos', quiet: true, blob,
    label: `Photo ${k + 1} of ${n} for a damage report`,
  }, {}));
  const report = newItem({ quiet: false, ...meta, action, path, photoRefs: photos.map((p) => p.id) }, extra);
  const items = [...photos, report];
  await tx('outbox', 'readwrite', (s) => items.reduce((_, i) => s.put(i), null));
  S.outbox.push(...items);
  render();
  flushSoon(0);
  return report;
}

function newItem(what, extra) {
  const id = eventId(what.action === 'photo' ? 'photo' : undefined);
  const body = { id, time: isoLocal(), ...extra };
  S.seq = Math.max(S.seq + 1, Date.now() * 1000);
  return {
    id,
    seq: S.seq,
    user: S.user ? S.user.username : null,
    crew: S.user ? S.user.crew : null,
    ...what,
    body,
    created: body.time,
    status: 'queued',
    error: null,
    attempts: 0,
  };
}

async function queue(what, extra) {
  const item = newItem(what, extra);
  await idbPut('outbox', item);
  S.outbox.push(item);
  render();
  flushSoon(0);
  return item;
}

let flushing = null;
let flushTimer = null;

/** Sends in `ms` (default: the retry interval). */
export function flushSoon(ms = RETRY_MS) {
  clearTimeout(flushTimer);
  flushTimer = setTimeout(() => { flush(); }, ms);
}

/** Sends what is queued (once at a time); retries later while something waits. */
export function flush() {
  if (flushing) return flushing;
  const run = () => sendOutbox();
  const p = navigator.locks ? navigator.locks.request('oms-crew-outbox', run) : run();
  flushing = p.catch(() => 'stalled').then((outcome) => {
    flushing = null;
    // More came in while sending: go again at once; else retry later.
    if (S.outbox.some((i) => i.status === 'queued')) flushSoon(outcome === 'progress' ? 100 : RETRY_MS);
  });
  return flushing;
}

/** Why the server refused `item` (answer `r`), in words for the crew. */
function refusal(item, r) {
  const reason = problem(r.data) || `the server answered ${r.status}`;
  if (r.status === 404 && item.job) {
    return `${item.job} is no longer assigned to your crew (recalled or reassigned). Server: ${reason}`;
  }
  if (r.status === 409) return `This action's id was already used for a different action. Server: ${reason}`;
  return reason;
}

/** The warnings a refusal asks to acknowledge ("... (acknowledge: parallel, loop)"), or []. */
function warnings(reason) {
  const m = /\(acknowledge: ([^)]+)\)\s*$/.exec(reason || '');
  return m ? m[1].split(',').map((w) => w.trim()).filter(Boolean) : [];
}

/** What an item sends: its body; a report's with the server ids of the photos uploaded. */
function payload(item) {
  if (!item.photoRefs) return item.body;
  return { ...item.body, photos: item.photoRefs.map((ref) => item.photoIds?.[ref]).filter(Boolean) };
}

/** POSTs one item (a photo: its image); a refused CSRF token is renewed once. Throws when offline. */
async function post(item) {
  item.attempts += 1;
  const once = () => (item.blob ? upload(item.path, item.blob, item.id) : api('POST', item.path, payload(item)));
  let r = await once();
  if (r.status === 400 && /csrf/i.test(r.data?.error || '')) {
    await loadSession();
    r = await once();
  }
  return r;
}

/** A photo uploaded: its id into its report's item, the photo's item gone (one transaction). */
async function photoSent(item, answer) {
  const report = S.outbox.find((i) => i.photoRefs?.includes(item.id));
  if (report && answer?.id) report.photoIds = { ...report.photoIds, [item.id]: answer.id };
  await tx('outbox', 'readwrite', (s) => {
    if (report) s.put(report);
    return s.delete(item.id);
  });
}

/** Sends the queued actions in order; stops at the first that cannot reach the server. */
async function sendOutbox() {
  await loadOutbox();  // another tab may have sent some
  const queued = S.outbox.filter((i) => i.status === 'queued');
  if (!queued.length) {
    renderStatus();
    return 'progress';
  }
  if (S.authed !== true || (!auth.token && !auth.csrf)) {
    const ok = await loadSession();
    if (!ok) return 'stalled';
  }
  let sent = 0;
  let answered = 0;
  let stalled = false;
  for (const item of queued) {
    if (item.user && S.user && item.user !== S.user.username) continue;  // another crew's
    let r;
    try {
      r = await post(item);
    } catch {
      setOnline(false);
      stalled = true;
      break;
    }
    setOnline(true);
    answered += 1;
    if (r.status >= 200 && r.status < 300) {  // 201: a photo, a damage report
      if (item.blob) await photoSent(item, r.data);
      else await idbDelete('outbox', item.id);
      sent += 1;
      for (const fn of sentHooks) fn(item, r.data);
      continue;
    }
    if (r.status === 401) {
      setAuth(false);
      stalled = true;
      break;
    }
    if (r.status >= 500 || r.status === 429 || r.status === 408) {
      stalled = true;
      break;
    }
    // Refused (422: rejected with the reason; 404: not this crew's job any more;
    // 409: the id was used with other content; 403, 400): the crew must see it.
    item.status = r.status === 409 ? 'conflict' : 'rejected';
    item.error = refusal(item, r);
    item.ack = r.status === 422 ? warnings(item.error) : [];
    item.http = r.status;
    item.answered = isoLocal();
    await idbPut('outbox', item);
    for (const fn of refusedHooks) await fn(item);
  }
  await loadOutbox();
  render();
  if (answered) for (const fn of answeredHooks) fn();
  return stalled || !sent ? 'stalled' : 'progress';
}

/** Forgets a refused action (the crew has read why). */
export async function dismiss(id) {
  await idbDelete('outbox', id);
  await loadOutbox();
  render();
}

/**
 * Sends a refused action again with the warnings it named acknowledged: a new
 * action (a new id: the old one was used for the unacknowledged content) with
 * the time and position of the first, in the old one's place in the queue.
 */
export async function acknowledge(id) {
  const old = S.outbox.find((i) => i.id === id);
  if (!old?.ack?.length) return;
  const body = { ...old.body };
  delete body.id;
  const ack = [...new Set([...(body.acknowledge || []), ...old.ack])];
  const { seq, job, action, path, quiet, doc, step, label } = old;
  await idbDelete('outbox', id);
  S.outbox = S.outbox.filter((i) => i.id !== id);
  await queue({ seq, job, action, path, quiet, doc, step, label }, { ...body, acknowledge: ack });
}

// ------------------------------------------------------------ derived state
/** The actions on a job that wait to be sent. */
export const pendingFor = (jobId) => S.outbox.filter((i) => i.job === jobId && i.status === 'queued');

/** The job's state as the crew sees it: the server's, moved on by actions not sent yet. */
export function effectiveState(job) {
  let idx = STATE_ORDER.indexOf(job.state);
  for (const i of pendingFor(job.id)) {
    const stage = STAGES.find((s) => s.action === i.action);
    const st = stage ? stage.state : i.action === 'close' ? 'closed' : i.action === 'deliver' ? 'delivered' : null;
    if (st) idx = Math.max(idx, STATE_ORDER.indexOf(st));
  }
  return idx >= 0 ? STATE_ORDER[idx] : job.state;
}

/** A stage of a job: done (stamped by the server), pending (queued here) or open. */
export function stageStatus(job, stage) {
  const stamps = job.stamps || {};
  if (stamps[stage.stamp]) return { kind: 'done', time: stamps[stage.stamp] };
  const p = pendingFor(job.id).find((i) => i.action === stage.action);
  if (p) return { kind: 'pending', time: p.body.time };
  return { kind: 'open' };
}
