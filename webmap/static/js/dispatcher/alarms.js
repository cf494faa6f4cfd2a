/*
 * Alarms: the alerts not acknowledged (the count in the top bar, by level),
 * the alerts list as the filters ask the server for it, and acknowledging
 * one or many (POST /api/alerts/ack: an alert_ack event, audited; many only
 * after the dispatcher confirmed how many). Other
 * dispatchers' acknowledgements arrive on the stream (alert_ack).
 */
import { call } from '../api.js';
import { $, byId, h } from '../dom.js';
import { openDialog } from './dialog.js';
import { filters } from './filters.js';
import { debounce, plural } from './format.js';
import { hooks, renderSoon, store } from './state.js';
import { toast } from './toast.js';

const KEEP = 300;
export const alarms = { unacknowledged: null, levels: {} };

/** The count of alerts waiting, from the server (GET /api/alerts/summary). */
export async function loadSummary() {
  try {
    const s = await call('GET', '/api/alerts/summary');
    alarms.unacknowledged = s.unacknowledged;
    alarms.levels = s.levels;
    paintAlarmKpi();
  } catch (err) {
    toast(`Alarms: ${err.message}`, 'error');
  }
}
/** At most once a second, however many alerts arrive. */
export const summarySoon = debounce(loadSummary, 1000);

function paintAlarmKpi() {
  const el = byId('kpi-alarms');
  if (!el) return;
  const n = alarms.unacknowledged;
  $('b', el).textContent = n === null ? '–' : n;
  el.classList.toggle('alarm', Boolean(alarms.levels.breach));
  el.classList.toggle('warn', Boolean(n) && !alarms.levels.breach);
  const lv = alarms.levels;
  el.title = `Alerts to acknowledge: ${lv.breach || 0} breaches of the standard, ` +
    `${lv.target || 0} targets reached, ${lv.warning || 0} warnings, ${lv.info || 0} info`;
}

/** The alerts list as the alert filters ask (level, unit, zone, acknowledged: on the server). */
export async function loadAlerts() {
  const f = filters.alerts;
  const q = new URLSearchParams({ limit: String(KEEP) });
  if (f.state) q.set('level', f.state);
  if (f.unit) q.set('unit', f.unit);
  if (f.zone) q.set('zone', f.zone);
  if (f.ack !== 'all') q.set('acknowledged', f.ack === 'done' ? '1' : '0');
  try {
    store.alerts = await call('GET', `/api/alerts?${q}`);
  } catch (err) {
    toast(`Alerts: ${err.message}`, 'error');
  }
  renderSoon();
}

/** A new alert from the stream. */
export function addAlert(a) {
  store.alerts.unshift(a);
  if (store.alerts.length > KEEP) store.alerts.length = KEEP;
  if (!a.acknowledged_at) summarySoon();
}

/** Alerts acknowledged (here or by another dispatcher): {alerts, by, at}. */
export function applyAck(ack) {
  const ids = new Set(ack.alerts);
  for (const a of store.alerts) {
    if (ids.has(a.seq) && !a.acknowledged_at) {
      a.acknowledged_at = ack.at;
      a.acknowledged_by = ack.by;
    }
  }
  summarySoon();
  renderSoon();
}

/** Acknowledges the alerts `ids`; says how many were, and by whom the others already. */
export async function acknowledge(ids) {
  if (!ids.length) return;
  try {
    const answer = await call('POST', '/api/alerts/ack', { alerts: ids });
    const mine = answer.alerts.filter((a) => a.result === 'acknowledged');
    for (const a of answer.alerts) {
      if (a.acknowledged_at) applyAck({ alerts: [a.seq], by: a.acknowledged_by, at: a.acknowledged_at });
    }
    const already = answer.alerts.length - mine.length;
    toast(`${plural(mine.length, 'alert')} acknowledged${already ? ` (${already} already were)` : ''}`, 'ok');
    hooks.acknowledged = (hooks.acknowledged || 0) + mine.length;
    await loadSummary();
  } catch (err) {
    toast(`Acknowledge: ${err.message}`, 'error');
  }
}

/** Acknowledges the alerts `ids` the list shows: more than one only once confirmed (how many said). */
export function acknowledgeShown(ids) {
  if (ids.length <= 1) {
    acknowledge(ids);
    return;
  }
  openDialog({
    title: `Acknowledge ${ids.length} alerts?`,
    body: h('p', {}, `Every alert the list shows (${plural(ids.length, 'alert')}) is marked seen by you.`),
    ok: `Acknowledge ${ids.length}`,
    submit: () => acknowledge(ids),
  });
}
