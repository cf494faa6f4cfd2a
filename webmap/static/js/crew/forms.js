/*
 * What the crew's taps and forms do (back, shift, send now, the device
 * token, the estimate, the close-out; the damage form is damageview.js's),
 * the routes (#/job/<id>, #/switching, #/damage and #/damage/<job>, else the
 * job list), and the browser's online, offline and visibility events.
 */
import { byId } from '../dom.js';
import { showDamage, wireDamage } from './damageview.js';
import { closeJob, openJob } from './detail.js';
import { toggleShift } from './gps.js';
import { refreshJobs } from './jobs.js';
import { enqueue, flush, flushSoon } from './outbox.js';
import { loadSession, setToken } from './session.js';
import { S } from './state.js';
import { renderStatus, setOnline } from './status.js';
import { refreshSoon } from './stream.js';
import { refreshSwitching } from './switching.js';
import { showSwitching } from './switchview.js';
import { fromInput } from './time.js';

const DAMAGE = /^#\/?damage(?:\/(.+))?$/;

/**
 * Shows the job of the address (#/job/<id>, or #job/<id> as typed), the
 * damage form (for a job), the switching view, else the list.
 */
export function route() {
  const m = /^#\/?job\/(.+)$/.exec(location.hash);
  const d = DAMAGE.exec(location.hash);
  if (m) openJob(decodeURIComponent(m[1]));
  else closeJob();
  showDamage(d ? decodeURIComponent(d[1] || '') : null);
  byId('tabs').hidden = Boolean(m || d);
  showSwitching(!m && !d && /^#\/?switching$/.test(location.hash));
}

/** Back: from the damage form to the job it is for, else to the list. */
function back() {
  const job = DAMAGE.exec(location.hash)?.[1];
  location.hash = job ? `#/job/${job}` : '';
}

async function saveToken(ev) {
  ev.preventDefault();
  const input = byId('token');
  await setToken(input.value.trim());
  input.value = '';
  if (await loadSession()) {
    await refreshJobs();
    flush();
  }
}

async function sendEstimate(ev) {
  ev.preventDefault();
  const etr = fromInput(byId('etr').value);
  if (!etr || !S.current) return;
  await enqueue(S.current, 'estimate', { etr });
}

async function closeOut(ev) {
  ev.preventDefault();
  const f = ev.target;
  const error = byId('co-error');
  const start = fromInput(f.outage_start.value);
  const end = fromInput(f.outage_end.value);
  if (!start || !end) {
    error.textContent = 'Give the outage start and end.';
    return;
  }
  if (new Date(end) < new Date(start)) {
    error.textContent = 'The outage cannot end before it started.';
    return;
  }
  error.textContent = '';
  const closeout = {
    cause: f.cause.value.trim(),
    equipment: f.equipment.value.trim(),
    actions: f.actions.value.trim(),
    outage_start: start,
    outage_end: end,
    remarks: f.remarks.value.trim() || null,
  };
  S.closed.add(S.current);
  await enqueue(S.current, 'close', { closeout });
  location.hash = '';
}

export function wireForms() {
  wireDamage();
  byId('back').addEventListener('click', back);
  byId('shift-btn').addEventListener('click', toggleShift);
  byId('send-now').addEventListener('click', () => { loadSession().then(() => flush()); });
  byId('token-form').addEventListener('submit', saveToken);
  byId('estimate-form').addEventListener('submit', sendEstimate);
  byId('closeout-form').addEventListener('submit', closeOut);
  window.addEventListener('hashchange', route);
  window.addEventListener('online', () => {
    S.online = true;
    renderStatus();
    loadSession().then(() => {
      refreshJobs();
      refreshSwitching();
      flush();
    });
  });
  window.addEventListener('offline', () => setOnline(false));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') {
      flushSoon(0);
      refreshSoon();
    }
  });
}
