/*
 * The overview's panels: the situation figures, the side panel (the oldest
 * job waiting, breached jobs, alarms) and one table per grouping
 * (substation, feeder, zone), each drawn from GET /api/overview.
 *
 * Each panel is first reduced to what it shows (its model: the words and
 * numbers on screen); it is drawn again only when that changed, so a
 * change elsewhere (a crew's position, say) redraws nothing. draws counts
 * the draws per panel (window.omsOverview.draws).
 */
import { byId, fill, h } from '../dom.js';
import { fitFigures, fitTable } from './fit.js';
import { age, count, hhmm, human } from '../format.js';

export const draws = {};
const shown = {};

/** Draws panel `name` into `node` with `render(model)` when `model` differs from the last drawn. */
export function draw(name, node, model, render) {
  const key = JSON.stringify(model);
  if (shown[name] === key) return false;
  shown[name] = key;
  draws[name] = (draws[name] ?? 0) + 1;
  render(node, model);
  return true;
}

// ------------------------------------------------------------ crews
let BUSY = new Set(['assigned', 'accepted', 'en_route', 'on_site']);
const FREE = new Set(['available', 'returning']);

/** The crew statuses that count as working and as free (the server's vocabulary). */
export function setVocabulary(vocabulary) {
  if (vocabulary?.crew_busy) BUSY = new Set(vocabulary.crew_busy);
}

function crewFigures(crews) {
  const sum = (keep) => Object.entries(crews).reduce((s, [k, n]) => s + (keep(k) ? n : 0), 0);
  return {
    working: sum((k) => BUSY.has(k)),
    free: sum((k) => FREE.has(k)),
    onShift: sum((k) => k !== 'off_shift'),
    off: crews.off_shift ?? 0,
    detail: Object.entries(crews).filter(([, n]) => n).map(([k, n]) => `${n} ${human(k)}`).join(', ') || 'no crews',
  };
}

// ------------------------------------------------------------ figures
export function kpiModel(doc) {
  const t = doc.totals;
  const crews = crewFigures(t.crews);
  const breach = doc.alarms.levels.breach ?? 0;
  return [
    { key: 'customers', value: count(t.customers_out), label: 'customers out', cls: t.customers_out ? 'warn' : '' },
    { key: 'critical', value: count(t.critical_out), label: 'critical customers out', cls: t.critical_out ? 'alarm' : '' },
    { key: 'outages', value: count(t.outages), label: 'outages', cls: t.outages ? 'warn' : '' },
    { key: 'waiting', value: count(t.jobs_waiting), label: `jobs waiting (of ${t.jobs_open} open)`, cls: t.jobs_waiting ? 'warn' : '' },
    { key: 'breached', value: count(t.jobs_breached), label: 'jobs breached', cls: t.jobs_breached ? 'alarm' : '' },
    { key: 'crews', value: `${crews.free}/${crews.onShift}`, label: 'crews free / on shift', cls: crews.onShift && !crews.free ? 'alarm' : '', title: crews.detail },
    {
      key: 'etr', value: hhmm(t.etr_latest), label: t.etr_passed ? `last ETR · ${t.etr_passed} passed` : 'last ETR',
      cls: t.etr_passed ? 'alarm' : '', title: `Latest ETR of the outages out; earliest ${hhmm(t.etr_earliest)}; ${t.etr_missing} without one`,
    },
    { key: 'alarms', value: count(doc.alarms.unacknowledged), label: breach ? `alarms · ${breach} breach` : 'alarms', cls: breach ? 'alarm' : '' },
  ];
}

export function renderKpis(node, model) {
  fill(node, model.map((k) => h('div', { class: ['kpi', k.cls], id: `kpi-${k.key}`, title: k.title || k.label },
    h('b', {}, k.value), h('span', {}, k.label))));
}

// ------------------------------------------------------------ side panel
function jobLine(j, asOf) {
  return {
    id: j.id,
    where: [j.feeder, j.zone].filter(Boolean).join(' · ') || j.device || j.customer || '',
    waited: age(j.reported, asOf),
    breaches: j.breaches.join(' '),
    crew: j.crew ?? '',
  };
}

/** `size`: the wall's screen, part of what it shows (what fits depends on it). */
export function sideModel(doc, { size = null } = {}) {
  const o = doc.oldest_unassigned;
  return {
    oldest: o ? { ...jobLine(o, doc.as_of), outage: o.outage ?? '', priority: Math.round(o.priority) } : null,
    breached: doc.breaches.jobs,
    byTarget: Object.entries(doc.breaches.by_target).map(([k, n]) => `${k} ${n}`),
    listed: doc.breaches.listed.map((j) => jobLine(j, doc.as_of)),
    more: doc.breaches.jobs - doc.breaches.listed.length,
    size,
  };
}

export function renderSide(node, m) {
  fill(node,
    h('h2', {}, 'Oldest job waiting'),
    m.oldest
      ? h('div', { class: 'oldest', id: 'oldest-job' },
        h('div', { class: 'big' }, h('b', {}, m.oldest.id), ' waiting ', h('b', { class: 'age' }, m.oldest.waited)),
        h('div', { class: 'muted' }, [m.oldest.where, m.oldest.outage, `priority ${m.oldest.priority}`].filter(Boolean).join(' · ')),
        m.oldest.breaches && h('div', { class: 'breach' }, `breached: ${m.oldest.breaches}`))
      : h('div', { class: 'oldest none', id: 'oldest-job' }, 'No job is waiting for a crew.'),
    h('div', { class: 'breach-head' },
      h('h2', {}, 'Breached jobs ', h('span', { class: ['count', m.breached && 'alarm'] }, m.breached)),
      m.byTarget.length ? h('div', { class: 'chips' }, m.byTarget.map((c) => h('span', { class: 'chip' }, c))) : null),
    h('table', { class: 'breaches' },
      h('tbody', {}, m.listed.map((j) => h('tr', { 'data-job': j.id },
        h('td', {}, j.id), h('td', {}, j.where), h('td', { class: 'breach' }, j.breaches),
        h('td', { class: 'num' }, j.waited), h('td', { class: 'crew' }, j.crew))))),
    m.more > 0 ? h('div', { class: 'muted more' }, `+${m.more} more`) : null);
}

// ------------------------------------------------------------ group tables
const TITLES = { substation: 'By substation', feeder: 'By feeder', zone: 'By zone' };
const NOWHERE = { substation: 'no substation', feeder: 'on no feeder', zone: 'no zone' };

function label(group, r) {
  if (r.id === null) return { name: NOWHERE[group], sub: '' };
  if (group === 'zone') {
    const named = r.name && r.name !== r.id;
    return { name: r.name ?? r.id, sub: [named && r.id, r.area_class, r.unit].filter(Boolean).join(' · ') };
  }
  return { name: r.name ?? r.id, sub: r.name && r.name !== r.id ? r.id : '' };
}

export function groupModel(group, rows, { wall = false, size = null } = {}) {
  const limit = wall ? 20 : 50;  // the wall shows those that fit (fit.js)
  return {
    group,
    size,
    rows: rows.slice(0, limit).map((r) => {
      const crews = crewFigures(r.crews);
      return {
        id: r.id ?? '',
        ...label(group, r),
        outages: count(r.outages),
        customers: count(r.customers_out),
        critical: r.critical_out,
        waiting: `${r.jobs_waiting}/${r.jobs_open}`,
        breached: r.jobs_breached,
        crews: `${crews.working} working · ${crews.free} free${crews.off ? ` · ${crews.off} off` : ''}`,
        crewsDetail: crews.detail,
        etrLast: hhmm(r.etr_latest),
        etrFirst: hhmm(r.etr_earliest),
        passed: r.etr_passed,
        since: hhmm(r.oldest_started),
      };
    }),
    more: Math.max(0, rows.length - limit),
  };
}

const HEAD = [
  ['name', ''], ['customers', 'customers out'], ['critical', 'critical'], ['outages', 'outages'],
  ['waiting', 'jobs waiting/open'], ['breached', 'breached'], ['crews', 'crews'],
  ['etrLast', 'last ETR'], ['etrFirst', 'first ETR'], ['since', 'out since'],
];

export function renderGroup(node, m) {
  const cell = (r, key) => {
    if (key === 'name') return h('th', { scope: 'row' }, r.name, r.sub ? h('small', {}, r.sub) : null);
    const cls = ['num',
      (key === 'critical' && r.critical) || (key === 'breached' && r.breached) || (key === 'etrFirst' && r.passed) ? 'alarm' : ''];
    const text = key === 'etrFirst' && r.passed ? `${r.etrFirst} (${r.passed} passed)` : r[key];
    return h('td', { class: cls, title: key === 'crews' ? r.crewsDetail : null }, text);
  };
  fill(node,
    h('h2', {}, TITLES[m.group]),
    m.rows.length
      ? h('table', { class: 'rows' },
        h('thead', {}, h('tr', {}, HEAD.map(([, title]) => h('th', { scope: 'col' }, title)))),
        h('tbody', {}, m.rows.map((r) => h('tr', { 'data-id': r.id }, HEAD.map(([key]) => cell(r, key))))))
      : h('p', { class: 'muted' }, 'Nothing out.'),
    m.more ? h('p', { class: 'muted more' }, `+${m.more} more`) : null);
}

/** The wall's panels drawn, then fitted to their box (fit.js); the desk's as drawn. */
function fitted(render, fit) {
  return (node, m) => {
    render(node, m);
    if (m.size) fit(node, m);
  };
}

/** Fits a group table drawn while hidden, once it is shown (the wall's turns). */
export function fitShown(node) {
  if (node.dataset.shown === undefined) fitTable(node, Number(node.dataset.more || 0));
}

function fitGroup(node, m) {
  node.dataset.more = String(m.more);
  delete node.dataset.shown;
  fitTable(node, m.more);
}

/**
 * Everything the document shows, each panel drawn only if what it shows changed.
 * `wall`: the panels are fitted to the screen, and drawn again when its size changes.
 */
export function drawAll(doc, { wall = false, groups = [] } = {}) {
  const size = wall ? [window.innerWidth, window.innerHeight] : null;
  draw('kpis', byId('kpis'), { kpis: kpiModel(doc), size }, fitted((n, m) => renderKpis(n, m.kpis), fitFigures));
  draw('side', byId('side'), sideModel(doc, { size }), fitted(renderSide, (n, m) => fitTable(n, m.more)));
  for (const g of groups) {
    draw(g, byId(`group-${g}`), groupModel(g, doc.groups[g], { wall, size }), fitted(renderGroup, fitGroup));
  }
}
