/*
 * The side panel and the top bar: the four lists (jobs, outages, crews,
 * alerts) with their counts, the situation figures (KPIs), and what a click
 * on a card does.
 */
import { $, byId, fill, h } from '../dom.js';
import { ACTIVE, CREW_ORDER } from './config.js';
import { alertCard, crewCard, jobCard, jobOf, outageCard } from './cards.js';
import { openOutage } from './detail.js';
import { assignDialog, recallDialog } from './job-actions.js';
import { closeOutage, confirmDialog, mergeDialog, restoreDialog, splitDialog } from './outage-actions.js';
import { showPlan } from './plan.js';
import { select, setTab } from './selection.js';
import { store } from './state.js';

const MAX_ALERTS_SHOWN = 150;

function sortedJobs() {
  return Array.from(store.jobs.values()).sort((a, b) =>
    (b.priority - a.priority) || String(a.stamps.A).localeCompare(String(b.stamps.A)));
}

function sortedOutages() {
  const rank = (o) => (ACTIVE.has(o.state) ? 0 : 1);
  const priority = (o) => jobOf(o.id)?.priority ?? 0;
  return Array.from(store.outages.values()).sort((a, b) =>
    (rank(a) - rank(b)) || (priority(b) - priority(a)) || (b.customers_out - a.customers_out) ||
    a.id.localeCompare(b.id));
}

function sortedCrews() {
  return Array.from(store.crews.values()).sort((a, b) =>
    (CREW_ORDER.indexOf(a.status) - CREW_ORDER.indexOf(b.status)) || a.id.localeCompare(b.id));
}

function list(id, cards, empty) {
  fill(byId(id), cards.length ? cards : h('div', { class: 'empty' }, empty));
}

function setKpi(id, value, cls) {
  const el = byId(id);
  $('b', el).textContent = value;
  el.classList.remove('alarm', 'warn');
  if (cls) el.classList.add(cls);
}

function renderKpis(jobs, outages, crews) {
  const active = outages.filter((o) => ACTIVE.has(o.state));
  const out = active.reduce((s, o) => s + (o.customers_out || 0), 0);
  const critical = active.reduce((s, o) => s + (o.critical_out || 0), 0);
  const waiting = jobs.filter((j) => j.state === 'waiting').length;
  const breached = jobs.filter((j) => j.breaches?.length).length;
  const onShift = crews.filter((c) => c.status !== 'off_shift').length;
  const free = crews.filter((c) => c.status === 'available' || c.status === 'returning').length;
  setKpi('kpi-outages', active.length, active.length ? 'warn' : null);
  setKpi('kpi-customers', out.toLocaleString(), out ? 'warn' : null);
  setKpi('kpi-critical', critical, critical ? 'alarm' : null);
  setKpi('kpi-waiting', waiting, waiting ? 'warn' : null);
  setKpi('kpi-breached', breached, breached ? 'alarm' : null);
  setKpi('kpi-crews', `${free}/${onShift}`, onShift && !free ? 'alarm' : null);
}

/** Draws the lists, the counts and the KPIs (t: the server's time, epoch ms). */
export function renderPanel(t) {
  const jobs = sortedJobs();
  const outages = sortedOutages();
  const crews = sortedCrews();
  list('tab-jobs', jobs.map((j) => jobCard(j, t)), 'No open jobs.');
  list('tab-outages', outages.map((o) => outageCard(o, t)), 'No outages.');
  list('tab-crews', crews.map(crewCard), 'No crews.');
  list('tab-alerts', store.alerts.slice(0, MAX_ALERTS_SHOWN).map(alertCard), 'No alerts.');
  byId('count-jobs').textContent = jobs.length;
  byId('count-outages').textContent = outages.length;
  byId('count-crews').textContent = crews.length;
  byId('count-alerts').textContent = store.alerts.length;
  renderKpis(jobs, outages, crews);
}

const OUTAGE_ACTIONS = {
  confirm: confirmDialog,
  merge: mergeDialog,
  split: splitDialog,
  plan: (o) => showPlan({ outage: o.id }),
  restore: restoreDialog,
  close: closeOutage,
};

function onCardClick(ev) {
  const card = ev.target.closest('.card');
  if (!card) return;
  const act = ev.target.closest('[data-act]')?.dataset.act ?? null;
  const { job, outage, crew, alertJob } = card.dataset;
  if (job) {
    const j = store.jobs.get(job);
    if (!j) return;
    if (act === 'assign') assignDialog(j);
    else if (act === 'recall') recallDialog(j);
    else select(`j:${j.id}`, true);
  } else if (outage) {
    const o = store.outages.get(outage);
    if (!o) return;
    if (act && Object.hasOwn(OUTAGE_ACTIONS, act)) OUTAGE_ACTIONS[act](o);
    else if (ev.target.closest('.id')) openOutage(o.id);  // the id opens the outage panel
    else select(`o:${o.id}`, true);
  } else if (crew) {
    select(`c:${crew}`, true);
  } else if (alertJob && store.jobs.get(alertJob)) {
    setTab('jobs');
    select(`j:${alertJob}`, true);
  }
}

/** Wires the tabs and the card clicks. */
export function wirePanel() {
  $('.tabs').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-tab]');
    if (b) setTab(b.dataset.tab);
  });
  byId('panel').addEventListener('click', onCardClick);
}
