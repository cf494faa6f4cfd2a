/*
 * The search box of the top bar (GET /api/search): customers by name, phone,
 * account, meter or address; nodes and devices; outages, jobs and crews.
 *
 * Keys: "/" goes to the box; ArrowDown and ArrowUp move through the hits,
 * Enter goes to the one marked (the first by default), Escape closes the
 * list, and a second Escape empties the box. Going to a hit flies the map
 * there and marks the place; an outage (or a job's or a customer's own
 * outage) opens its panel, a job or crew in the lists is selected.
 * The box is a WAI-ARIA combobox: screen readers follow the marked hit.
 */
import { call } from '../api.js';
import { byId, fill, h } from '../dom.js';
import { openOutage } from './detail.js';
import { map } from './map.js';
import { select } from './selection.js';
import { hooks, store } from './state.js';

const { L } = window;
const WAIT_MS = 120;
const LIMIT = 12;
const KIND_NAMES = {
  outage: 'outage', job: 'job', crew: 'crew', customer: 'customer', device: 'device', node: 'node',
};

// pending: typed but not answered yet; enter: Enter was pressed meanwhile (go when it answers).
const state = { hits: [], active: -1, timer: null, asked: 0, text: '', mark: null, pending: false, enter: false };
hooks.search = () => ({ text: state.text, hits: state.hits.map((x) => `${x.kind}:${x.id}`), active: state.active });

const box = () => byId('search-input');
const list = () => byId('search-results');

function open(on) {
  list().hidden = !on;
  box().setAttribute('aria-expanded', on ? 'true' : 'false');
}

function mark(i) {
  state.active = i;
  for (const [k, li] of Array.from(list().children).entries()) {
    li.classList.toggle('active', k === i);
    li.setAttribute('aria-selected', k === i ? 'true' : 'false');
  }
  const li = list().children[i];
  if (li && li.id) {
    box().setAttribute('aria-activedescendant', li.id);
    li.scrollIntoView({ block: 'nearest' });
  } else {
    box().removeAttribute('aria-activedescendant');
  }
}

function show(hits, message) {
  state.hits = hits;
  const items = hits.map((x, i) => h('li', {
    id: `search-hit-${i}`, role: 'option', class: ['s-hit', `k-${x.kind}`], 'data-kind': x.kind, 'data-id': x.id,
    onmousedown: (ev) => { ev.preventDefault(); go(i); },
    onmousemove: () => state.active !== i && mark(i),
  },
  h('span', { class: 's-kind' }, KIND_NAMES[x.kind] || x.kind),
  h('span', { class: 's-text' }, h('b', {}, x.label), h('span', { class: 's-detail' }, x.detail))));
  fill(list(), items.length ? items : h('li', { class: 's-none', role: 'presentation' }, message || 'Nothing found.'));
  open(true);
  mark(hits.length ? 0 : -1);
}

async function ask(text) {
  const n = ++state.asked;
  const started = performance.now();
  let hits;
  try {
    hits = await call('GET', `/api/search?q=${encodeURIComponent(text)}&limit=${LIMIT}`);
  } catch (e) {
    if (n === state.asked) show([], e.message);
    return;
  }
  if (n !== state.asked || box().value.trim() !== text) return;  // typed on since
  hooks.searchMs = performance.now() - started;
  state.pending = false;
  show(hits);
  if (state.enter) {
    state.enter = false;
    go(0);
  }
}

function typed() {
  const text = box().value.trim();
  clearTimeout(state.timer);
  state.text = text;
  state.enter = false;
  state.pending = Boolean(text);
  if (!text) {
    state.asked++;
    state.hits = [];
    open(false);
    return;
  }
  state.timer = setTimeout(() => ask(text), WAIT_MS);
}

function placeMark(x) {
  if (state.mark) state.mark.remove();
  state.mark = null;
  if (x.lat === null || x.lon === null) return;
  state.mark = L.circleMarker([x.lat, x.lon], {
    radius: 14, color: '#4ea1ff', weight: 3, fill: false, className: 's-mark', interactive: false,
  }).bindTooltip(h('span', {}, x.label), { permanent: true, direction: 'top', offset: [0, -12] }).addTo(map);
}

/** Goes to hit `i`: the map there, its outage's panel, its card in the lists. */
function go(i) {
  const x = state.hits[i];
  if (!x) return;
  open(false);
  box().blur();
  hooks.searchChosen = `${x.kind}:${x.id}`;
  if (x.kind === 'job' && store.jobs.has(x.id)) select(`j:${x.id}`, true);
  else if (x.kind === 'crew' && store.crews.has(x.id)) select(`c:${x.id}`, true);
  else if (x.lat !== null && x.lon !== null) {
    map.flyTo([x.lat, x.lon], Math.max(map.getZoom(), x.kind === 'outage' ? 16 : 18), { duration: 0.6 });
  }
  if (x.kind !== 'job' && x.kind !== 'crew') placeMark(x);
  if (x.outage) openOutage(x.outage);
}

function onKey(ev) {
  const n = state.hits.length;
  if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
    ev.preventDefault();
    if (list().hidden && box().value.trim()) { open(true); return; }
    if (n) mark((state.active + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n);
  } else if (ev.key === 'Enter') {
    ev.preventDefault();
    if (state.pending) state.enter = true;  // go to the best hit when it comes
    else go(Math.max(state.active, 0));
  } else if (ev.key === 'Escape') {
    ev.preventDefault();
    if (!list().hidden) open(false);
    else {
      box().value = '';
      typed();
      if (state.mark) state.mark.remove();
      state.mark = null;
      box().blur();
    }
  }
}

/** Wires the box: typing asks (debounced), the keys move and choose, "/" focuses it. */
export function wireSearch() {
  box().addEventListener('input', typed);
  box().addEventListener('keydown', onKey);
  box().addEventListener('focus', () => state.hits.length && box().value.trim() && open(true));
  box().addEventListener('blur', () => open(false));
  document.addEventListener('keydown', (ev) => {
    const t = ev.target;
    const editing = t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (ev.key === '/' && !editing && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      ev.preventDefault();
      box().focus();
      box().select();
    }
  });
}
