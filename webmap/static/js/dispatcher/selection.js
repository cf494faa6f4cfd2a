/*
 * What the dispatcher looks at: the tab of the side panel, and the selected
 * outage, job or crew (ui.selected = 'o:<id>', 'j:<id>' or 'c:<id>').
 */
import { $$, byId } from '../dom.js';
import { map } from './map.js';
import { render, store, ui } from './state.js';

const { L } = window;
const TABS = ['jobs', 'outages', 'crews', 'alerts'];

export function setTab(name) {
  ui.tab = name;
  for (const b of $$('.tabs button')) b.classList.toggle('active', b.dataset.tab === name);
  for (const t of TABS) byId(`tab-${t}`).hidden = t !== name;
}

const hasPosition = (x) => x && x.lat !== null && x.lat !== undefined;

/** Selects an item, shows its card and, with `fly`, flies the map to it. */
export function select(key, fly) {
  ui.selected = key;
  const kind = key.slice(0, 1);
  const id = key.slice(2);
  let ll = null;
  if (kind === 'o') {
    setTab('outages');
    ll = store.outagePos.get(id);
  } else if (kind === 'j') {
    const j = store.jobs.get(id);
    if (hasPosition(j)) ll = L.latLng(j.lat, j.lon);
    if (j?.outage && store.outagePos.get(j.outage)) ll = store.outagePos.get(j.outage);
  } else if (kind === 'c') {
    setTab('crews');
    const c = store.crews.get(id);
    if (hasPosition(c)) ll = L.latLng(c.lat, c.lon);
  }
  if (fly && ll) map.flyTo(ll, Math.max(map.getZoom(), 16), { duration: 0.6 });
  render();
  const attr = kind === 'o' ? 'data-outage' : kind === 'j' ? 'data-job' : 'data-crew';
  document.querySelector(`[${attr}="${CSS.escape(id)}"]`)?.scrollIntoView({ block: 'nearest' });
}
