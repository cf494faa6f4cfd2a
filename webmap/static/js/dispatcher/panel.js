/*
 * The side panel and the top bar: the four lists (jobs, outages, crews,
 * alerts) with their filter rows and counts, the situation figures (KPIs),
 * and what a click on a card does.
 *
 * Redraws are folded into one per animation frame, and each list keeps a
 * card per item in place (keyed.js): a card is touched only when what it
 * shows changed, so the lists do not churn under a storm of changes and a
 * click lands on the card it was aimed at. window.omsMap.panelStats counts
 * what each list did (frames with a change, cards made, patched, removed).
 */
import { now } from '../clock.js';
import { $, $$, afterPress, byId, h } from '../dom.js';
import { priorityAt } from '../priority.js';
import { ACTIVE, canDispatch } from './config.js';
import { acknowledge, acknowledgeShown, loadAlerts } from './alarms.js';
import { closeRestored, picked, restoredIds, togglePick } from './bulk.js';
import { alertCard, crewCard, jobCard, outageCard } from './cards.js';
import { paintClocks } from './countdown.js';
import { openOutage } from './detail.js';
import { filterRow, filters, outagePlaces, syncChoices, view } from './filters.js';
import { fmtAge } from './format.js';
import { assignDialog, recallDialog } from './job-actions.js';
import { updateList } from './keyed.js';
import { closeOutage, confirmDialog, mergeDialog, restoreDialog, splitDialog } from './outage-actions.js';
import { showPlan } from './plan.js';
import { select, setTab } from './selection.js';
import { hooks, store, ui } from './state.js';

const MAX_ALERTS_SHOWN = 150;
const AGEING_REDRAW_MS = 30000;
const TABS = ['jobs', 'outages', 'crews', 'alerts'];
const EMPTY = { jobs: 'No open jobs.', outages: 'No outages.', crews: 'No crews.', alerts: 'No alerts.' };
const cards = {};  // tab -> the element holding its cards
const rows = {};   // tab -> its filter row
hooks.panelStats = Object.fromEntries(TABS.map((tab) => [tab, {
  frames: 0, changed: 0, created: 0, patched: 0, removed: 0, moved: 0,
}]));

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

/** What a card of each list shows besides its item (a change of it redraws the card). */
function specs(jobByOutage) {
  const sel = (key) => ui.selected === key;
  return {
    jobs: {
      key: (j) => j.id,
      sig: (j) => {
        const c = j.crew ? store.crews.get(j.crew) : null;
        const o = j.outage ? store.outages.get(j.outage) : null;
        // Its priority as of now: it ages here between documents (priority.js).
        return JSON.stringify([j, priorityAt(j, flushT), c?.status, o?.customers_out, o?.critical_out,
          sel(`j:${j.id}`)]);
      },
      build: (j) => jobCard(j, flushT),
    },
    outages: {
      key: (o) => o.id,
      sig: (o) => {
        const j = jobByOutage.get(o.id);
        return JSON.stringify([o, j?.id, j?.crew, j?.zone, j?.stamps, j?.breaches, outagePlaces.get(o.id),
          sel(`o:${o.id}`), picked.has(o.id)]);
      },
      build: (o) => outageCard(o, flushT, jobByOutage.get(o.id) ?? null, picked.has(o.id)),
    },
    crews: {
      key: (c) => c.id,
      sig: (c) => JSON.stringify([c, sel(`c:${c.id}`)]),
      build: crewCard,
    },
    alerts: {
      key: (a) => a.seq ?? `${a.time}|${a.kind}|${a.job}`,
      // Its headline names the job's limit once the job is known (jobs and
      // alerts load apart): the card is drawn again when it arrives.
      sig: (a) => JSON.stringify([a, a.job ? store.jobs.get(a.job)?.targets : null]),
      build: alertCard,
    },
  };
}

let frame = 0;
let flushT = 0;

/** Asks for the lists, counts and KPIs to be drawn in the next animation frame (t: server time, ms). */
export function renderPanel(t) {
  flushT = t;
  if (!frame) frame = requestAnimationFrame(() => afterPress(flush));  // never mid-click
}

function flush() {
  frame = 0;
  const jobByOutage = new Map();
  const jobsByOutage = new Map();
  for (const j of store.jobs.values()) {
    if (!j.outage) continue;
    jobByOutage.set(j.outage, j);
    jobsByOutage.set(j.outage, [...(jobsByOutage.get(j.outage) || []), j]);
  }
  const all = {
    jobs: Array.from(store.jobs.values()),
    outages: Array.from(store.outages.values()),
    crews: Array.from(store.crews.values()),
    alerts: store.alerts,
  };
  const ctx = { jobOf: (id) => jobByOutage.get(id), jobsOf: (id) => jobsByOutage.get(id) };
  const spec = specs(jobByOutage);
  const shown = {};
  for (const tab of TABS) {
    if (!cards[tab]) continue;
    syncChoices(tab, rows[tab], all[tab]);
    let items = view(tab, all[tab], flushT, ctx);
    shown[tab] = items.length;
    if (tab === 'outages') restoredShown = items.filter((o) => o.state === 'restored').map((o) => o.id);
    if (tab === 'alerts') items = items.slice(0, MAX_ALERTS_SHOWN);
    const did = updateList(cards[tab], items, { ...spec[tab], empty: EMPTY[tab] });
    const stats = hooks.panelStats[tab];
    stats.frames += 1;
    if (did.created || did.patched || did.removed || did.moved) stats.changed += 1;
    for (const k of ['created', 'patched', 'removed', 'moved']) stats[k] += did[k];
  }
  for (const tab of TABS) {
    const total = all[tab].length;
    const count = byId(`count-${tab}`);
    const text = shown[tab] === total ? String(total) : `${shown[tab]}/${total}`;
    if (count.textContent !== text) count.textContent = text;
  }
  restoredIds(); // drops ticks on outages no longer restored
  paintBulk(restoredShown.length);
  renderKpis(all.jobs, all.outages, all.crews);
  paintAges();
  paintClocks();
}

/** The ages on the cards ("12 min"), by the server's clock. */
function paintAges() {
  for (const el of $$('[data-age]', byId('panel'))) {
    const text = fmtAge(el.dataset.age);
    if (el.textContent !== text) el.textContent = text;
  }
}

/** The restored outages the outage list's filters show, at its last redraw. */
let restoredShown = [];

function paintBulk(restored) {
  const b = byId('bulk-close');
  if (!b) return;
  const n = picked.size;
  b.textContent = n ? `Close ${n} selected` : `Close restored shown (${restored})`;
  b.disabled = !n && !restored;
}

function shownAlerts() {
  return view('alerts', store.alerts, flushT, {}).slice(0, MAX_ALERTS_SHOWN).filter((a) => !a.acknowledged_at && a.seq);
}

const OUTAGE_ACTIONS = {
  confirm: confirmDialog,
  merge: mergeDialog,
  split: splitDialog,
  plan: (o) => showPlan({ outage: o.id }),
  restore: restoreDialog,
  close: closeOutage,
  pick: (o) => togglePick(o.id),
};

function onCardClick(ev) {
  const card = ev.target.closest('.card');
  if (!card) return;
  const act = ev.target.closest('[data-act]')?.dataset.act ?? null;
  if (!act && ev.target.closest('.pick')) return;  // the label: its checkbox gets the click too
  const { job, outage, crew, alert, alertJob } = card.dataset;
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
  } else if (act === 'ack' && alert) {
    acknowledge([Number(alert)]);
  } else if (alertJob && store.jobs.get(alertJob)) {
    setTab('jobs');
    select(`j:${alertJob}`, true);
  }
}

/** Each list's section holds its filter row and its cards. */
function wireLists() {
  for (const tab of TABS) {
    const section = byId(`tab-${tab}`);
    let extra = [];
    if (tab === 'alerts' && canDispatch) {
      extra = h('button', {
        class: 'btn', id: 'ack-shown', type: 'button', title: 'Acknowledge every alert the filters show',
        onclick: () => acknowledgeShown(shownAlerts().map((a) => a.seq)),
      }, 'Acknowledge shown');
    } else if (tab === 'outages' && canDispatch) {
      extra = h('button', {
        class: 'btn', id: 'bulk-close', type: 'button',
        title: 'Close the ticked restored outages, or every restored one the filters show',
        onclick: () => closeRestored(restoredShown),
      }, 'Close restored shown');
    }
    const onChange = (name) => {
      if (tab === 'alerts' && name !== 'text' && name !== 'sort') loadAlerts();
      renderPanel(flushT);
    };
    rows[tab] = filterRow(tab, onChange, extra);
    cards[tab] = h('div', { class: 'cards', id: `cards-${tab}` });
    section.replaceChildren(rows[tab], cards[tab]);
  }
}

/** Wires the tabs, the filter rows, the card clicks and the alarm count. */
export function wirePanel() {
  wireLists();
  $('.tabs').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-tab]');
    if (b) setTab(b.dataset.tab);
  });
  byId('panel').addEventListener('click', onCardClick);
  const kpi = byId('kpi-alarms');
  kpi?.addEventListener('click', () => {
    filters.alerts.ack = 'open';
    const choice = rows.alerts.querySelector('[data-filter="ack"]');
    if (choice.value !== 'open') {
      choice.value = 'open';
      loadAlerts();
    }
    setTab('alerts');
  });
  setInterval(paintAges, 15000);
  // Waiting jobs gain priority every 10 minutes with no document sent: redraw
  // the lists (only cards whose priority or order moved change).
  setInterval(() => renderPanel(now()), AGEING_REDRAW_MS);
}
