/*
 * The crew handheld (see docs/handheld.md): the page's entry module.
 *
 * Every action the crew takes goes into an outbox in IndexedDB first and is
 * sent in order whenever the server can be reached (js/crew/outbox.js); the
 * last job list and job details are kept in IndexedDB too, so a restart
 * without signal still shows the crew its work. The service worker
 * (crew-sw.js, /crew/sw.js) keeps the app shell, every module below
 * included. The modules, native ES modules (no build step) under js/ and
 * js/crew/:
 *
 *   state, vocab, idb, ids, time, geo    what the handheld knows and keeps
 *   status, session                      reaching the server, signed in or not
 *   outbox, jobs, stream                 actions out, jobs and events in
 *   switching                            orders, safety documents, planned outages
 *   damage                               damage reports: photos made small, sent
 *                                        through the outbox; the jobs' outages' reports
 *   list, detail, facts, notices         what the crew sees
 *   switchview                           ... and the Switching tab
 *   damageview                           ... and the damage form, a job's damage
 *   directions, jobmap                   the way to a job, its map data kept
 *   gps, forms                           the shift and position, the forms
 *   ../storm.js                          the storm banner (polled: the stream
 *                                        carries only the crew's own alerts)
 *
 * window.omsCrew exposes the state and a few actions for the console.
 */
import { auth } from './js/api.js';
import { afterPress } from './js/dom.js';
import { refreshStorm, watchStorm } from './js/storm.js';
import { loadDamage, refreshDamage } from './js/crew/damage.js';
import { detailIfOpen } from './js/crew/detail.js';
import { route, wireForms } from './js/crew/forms.js';
import { renderShift, sendGps, startGps } from './js/crew/gps.js';
import { kvSet, openDb } from './js/crew/idb.js';
import { loadCached, refreshJobs } from './js/crew/jobs.js';
import { renderList, renderOutbox, renderRejected } from './js/crew/list.js';
import { showAlert } from './js/crew/notices.js';
import { enqueue, flush, flushSoon, onAnswered } from './js/crew/outbox.js';
import { loadSession } from './js/crew/session.js';
import { S, app, onRender, render } from './js/crew/state.js';
import { onReconnect, renderStatus } from './js/crew/status.js';
import { streamLoop } from './js/crew/stream.js';
import { loadSwitching, refreshSwitching } from './js/crew/switching.js';
import { renderSwitching } from './js/crew/switchview.js';

const EVERY_MS = 30000;

onRender(renderStatus);
onRender(renderRejected);
onRender(renderList);
onRender(renderOutbox);
onRender(detailIfOpen);
onRender(renderShift);
onRender(renderSwitching);
onReconnect(() => flushSoon(0));
onReconnect(refreshStorm);
onAnswered(() => {
  refreshJobs().then(refreshDamage);
  refreshSwitching();
});

/** A device set up from a link /crew/#token=... (the fragment never reaches a server log). */
async function tokenFromLink() {
  const setup = /^#token=(.+)$/.exec(location.hash);
  if (!setup) return;
  auth.token = decodeURIComponent(setup[1]);
  await kvSet('token', auth.token);
  history.replaceState(null, '', location.pathname);
}

async function start() {
  wireForms();
  S.db = await openDb();
  await loadCached();
  await loadSwitching();
  await loadDamage();
  await tokenFromLink();
  render();
  route();
  renderShift();
  // Ask the browser not to evict the outbox under storage pressure.
  navigator.storage?.persist?.().catch(() => {});
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/crew/sw.js', { scope: '/crew/' }).catch(() => {});
  }
  const ok = await loadSession();
  if (ok === false && !S.user) {
    location.assign('/login?next=/crew/');
    return;
  }
  watchStorm({ poll: true });  // offline: the last state known, marked so
  startGps();
  renderShift();
  if (ok) {
    await Promise.all([refreshJobs().then(refreshDamage), refreshSwitching()]);
    flush();
  }
  streamLoop();
  setInterval(() => {
    if (S.outbox.some((i) => i.status === 'queued')) flush();
    sendGps();
    afterPress(renderList);  // the list's ages, never under a tap
    // The stream does not carry every change of the desk to a crew: poll it.
    if (S.authed === true && S.online) {
      refreshSwitching();
      refreshDamage();  // other crews' reports on this crew's outages
    }
  }, EVERY_MS);
  app.dataset.ready = '1';
}

window.omsCrew = { state: S, auth, flush, refreshJobs, refreshSwitching, enqueue };
start().catch((e) => {
  showAlert(`The handheld could not start: ${e?.message ?? e}`, 'bad');
});
