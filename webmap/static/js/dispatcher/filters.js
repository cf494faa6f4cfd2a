/*
 * Filter and sort of the side panel's lists: a row of controls above each
 * list (a text filter, a state or level choice, a sort order; for alerts
 * also unit, zone and acknowledged). The choices live here, outside the
 * lists, so live updates never reset them; view(tab, items, t) is what a
 * list shows.
 */
import { h } from '../dom.js';
import { priorityAt } from '../priority.js';
import { ACTIVE, CREW_ORDER } from './config.js';
import { mainClock } from './countdown.js';
import { human } from './format.js';

/** What each list is filtered and sorted by (the first sort is the default). */
export const filters = {
  jobs: { text: '', state: '', sort: 'priority' },
  outages: { text: '', state: '', sort: 'priority' },
  crews: { text: '', state: '', sort: 'status' },
  alerts: { text: '', state: '', unit: '', zone: '', ack: 'open', sort: 'newest' },
};

/** Alarm levels, most urgent first (oms/engine/alerts.py), as the dispatcher reads them. */
const LEVELS = ['breach', 'target', 'warning', 'info'];
export const LEVEL_NAMES = { breach: 'breach', target: 'target reached', warning: 'warning', info: 'info' };
const LEVEL_RANK = Object.fromEntries(LEVELS.map((v, i) => [v, i]));
const str = (x) => String(x ?? '');
const byId = (a, b) => str(a.id).localeCompare(str(b.id));
/** Time left on a job's main clock (ms; no clock: last). */
const left = (j, t) => {
  const c = mainClock(j);
  return c ? c.limit - (t - c.start) : Infinity;
};

/** Each outage's zone and crews (GET /api/outages), by id: what its list is searched by. */
export const outagePlaces = new Map();
/** An outage's zone and crews: its own, GET /api/outages', and its open jobs' (ctx.jobsOf). */
function placeWords(o, ctx) {
  const p = outagePlaces.get(o.id);
  const jobs = ctx?.jobsOf?.(o.id) ?? [];
  return [o.zone, ...(o.crews || []), p?.zone, ...(p?.crews || []), ...jobs.flatMap((j) => [j.id, j.zone, j.crew])];
}

const TABS = {
  jobs: {
    words: (j) => [j.id, j.device, j.customer, j.crew, j.zone, j.unit, j.outage, j.state, j.area_class],
    state: (j) => j.state,
    sorts: {
      priority: ['priority', (a, b, t) => (priorityAt(b, t) - priorityAt(a, t)) ||
        str(a.stamps.A).localeCompare(str(b.stamps.A))],
      due: ['time left', (a, b, t) => (left(a, t) - left(b, t)) || byId(a, b)],
      oldest: ['oldest', (a, b) => str(a.stamps.A).localeCompare(str(b.stamps.A)) || byId(a, b)],
      id: ['id', byId],
    },
  },
  outages: {
    words: (o, ctx) => [o.id, o.device, o.customer, o.state, o.confirmed_by, ...(o.section || []), ...placeWords(o, ctx)],
    state: (o) => o.state,
    sorts: {
      priority: ['priority', (a, b, t, ctx) => ((ACTIVE.has(a.state) ? 0 : 1) - (ACTIVE.has(b.state) ? 0 : 1)) ||
        (priorityAt(ctx.jobOf(b.id), t) - priorityAt(ctx.jobOf(a.id), t)) ||
        (b.customers_out - a.customers_out) || byId(a, b)],
      customers: ['customers out', (a, b) => (b.customers_out - a.customers_out) || byId(a, b)],
      oldest: ['oldest', (a, b) => str(a.started).localeCompare(str(b.started)) || byId(a, b)],
      id: ['id', byId],
    },
  },
  crews: {
    words: (c) => [c.id, c.name, c.unit, c.zone, c.status, ...(c.skills || []), ...(c.jobs || [])],
    state: (c) => c.status,
    sorts: {
      status: ['status', (a, b) => (CREW_ORDER.indexOf(a.status) - CREW_ORDER.indexOf(b.status)) || byId(a, b)],
      id: ['id', byId],
      unit: ['unit', (a, b) => str(a.unit).localeCompare(str(b.unit)) || byId(a, b)],
    },
  },
  alerts: {
    words: (a) => [a.kind, a.level, a.job, a.crew, a.unit, a.zone, a.contact, a.detail?.target, a.acknowledged_by],
    state: (a) => a.level,
    sorts: {
      newest: ['newest', (a, b) => b.seq - a.seq],
      oldest: ['oldest', (a, b) => a.seq - b.seq],
      level: ['level', (a, b) => (LEVEL_RANK[a.level] - LEVEL_RANK[b.level]) || (b.seq - a.seq)],
    },
  },
};

/** The items of `tab` its filters let through, in its sort order. */
export function view(tab, items, t, ctx) {
  const f = filters[tab];
  const def = TABS[tab];
  const needle = f.text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const shown = items.filter((x) => {
    if (f.state && def.state(x) !== f.state) return false;
    if (tab === 'alerts') {
      if (f.unit && x.unit !== f.unit) return false;
      if (f.zone && x.zone !== f.zone) return false;
      if (f.ack === 'open' && x.acknowledged_at) return false;
      if (f.ack === 'done' && !x.acknowledged_at) return false;
    }
    if (!needle.length) return true;
    const hay = def.words(x, ctx).filter((w) => w !== null && w !== undefined).join(' ').toLowerCase();
    return needle.every((w) => hay.includes(w));
  });
  const [, cmp] = def.sorts[f.sort] || Object.values(def.sorts)[0];
  return shown.sort((a, b) => cmp(a, b, t, ctx));
}

const seen = new WeakMap();  // select -> every value it was offered

/** Options of a select: every value seen so far (a filtered list never hides the others), after "all". */
function syncOptions(select, values, label, ordered = false) {
  let known = seen.get(select);
  if (!known) {
    known = new Set();
    seen.set(select, known);
  }
  for (const v of values) if (v) known.add(v);
  const want = ['', ...(ordered ? Array.from(known) : Array.from(known).sort())];
  const have = Array.from(select.options, (o) => o.value);
  if (have.join('\n') === want.join('\n')) return;
  const chosen = select.value;
  select.replaceChildren(...want.map((v) => h('option', { value: v }, v ? label(v) : select.dataset.all)));
  select.value = chosen;
}

/** Keeps the choices of the selects that depend on the data (states, units, zones) current. */
export function syncChoices(tab, row, items) {
  const def = TABS[tab];
  const states = tab === 'alerts' ? LEVELS : items.map(def.state);
  const alerts = tab === 'alerts';
  syncOptions(row.querySelector('[data-filter="state"]'), states, alerts ? (v) => LEVEL_NAMES[v] : human, alerts);
  if (tab === 'alerts') {
    syncOptions(row.querySelector('[data-filter="unit"]'), items.map((a) => a.unit), String);
    syncOptions(row.querySelector('[data-filter="zone"]'), items.map((a) => a.zone), String);
  }
}

const STATE_LABEL = { jobs: 'State', outages: 'State', crews: 'Status', alerts: 'Level' };
/** What a select's "no choice" option says, so each select names what it filters. */
const ALL = { State: 'all states', Status: 'all statuses', Level: 'all levels', Unit: 'all units', Zone: 'all zones' };

/** The filter row of `tab`; onChange(name) after a choice changed. `extra`: buttons at its end. */
export function filterRow(tab, onChange, extra = []) {
  const f = filters[tab];
  const def = TABS[tab];
  const control = (name, el) => {
    el.dataset.filter = name;
    el.addEventListener(el.tagName === 'INPUT' ? 'input' : 'change', () => {
      f[name] = el.value;
      onChange(name);
    });
    return el;
  };
  const select = (name, title, options = [['', ALL[title]]]) => control(name, h('select', {
    title, 'aria-label': title, 'data-all': ALL[title] || 'all',
  }, options.map(([v, text]) => h('option', { value: v, selected: f[name] === v }, text))));
  return h('div', { class: 'filters', 'data-filters': tab },
    control('text', h('input', {
      type: 'search', placeholder: 'Filter…', value: f.text, 'aria-label': `Filter ${tab}`,
    })),
    select('state', STATE_LABEL[tab]),
    tab === 'alerts' ? [
      select('unit', 'Unit'), select('zone', 'Zone'),
      select('ack', 'Acknowledged', [['open', 'to acknowledge'], ['done', 'acknowledged'], ['all', 'all']]),
    ] : null,
    select('sort', 'Sort', Object.entries(def.sorts).map(([k, [text]]) => [k, `↓ ${text}`])),
    extra);
}
