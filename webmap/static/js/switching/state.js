/*
 * What the switching page knows, and its redraw.
 *
 * CONFIG is what the server wrote into #oms-config (webmap/switching_page.py):
 * the user, what they may do (asked of the API's own rules) and the desk's
 * words. store: the documents by id, from the API and then the live stream.
 * ui: what the operator looks at. Modules register what a redraw draws
 * (onRender); renderSoon() folds the changes of one moment into one redraw.
 * window.omsSwitching holds read-only hooks for tests and the console.
 */
import { $$, afterPress, byId } from '../dom.js';

export const CONFIG = JSON.parse(byId('oms-config').textContent);
/** What this user may do: write, edit, fromOutage, step, study, safety, plan. */
export const may = CONFIG.may;

export const store = {
  orders: new Map(),
  safety: new Map(),
  planned: new Map(),
  field: new Map(),
  crews: [],
  lastSeq: null,
  loaded: false,
};

export const ui = {
  tab: 'orders',
  order: null,             // the order shown
  editing: null,           // the order being written ({planned} it is for, or the {order} edited), or null
  studies: new Map(),      // order id -> its last study
  refusals: new Map(),     // document id -> the engine's last refusal of an action on it
  orderState: '',          // the orders list's filter ('' all, 'open', or a state)
  safetyOpen: true,
  plannedOpen: true,
  fieldAll: false,
};

export const hooks = { ready: false, loaded: false, events: 0, renders: 0 };
window.omsSwitching = hooks;

const renderers = [];
let timer = null;

/** Adds a drawing function, called on every redraw. */
export function onRender(fn) {
  renderers.push(fn);
}

export function render() {
  hooks.renders += 1;
  for (const fn of renderers) fn();
}

export function renderSoon() {
  if (timer) return;
  timer = setTimeout(() => {
    timer = null;
    afterPress(render);  // never between the press and the release of a button
  }, 16);
}

/** Shows one tab ('orders', 'safety', 'planned', 'field'). */
export function showTab(tab) {
  ui.tab = tab;
  for (const b of $$('[role=tab]')) {
    const on = b.dataset.tab === tab;
    b.classList.toggle('active', on);
    b.setAttribute('aria-selected', String(on));
  }
  for (const pane of $$('.pane')) pane.hidden = pane.id !== `pane-${tab}`;
}

/** To the sign-in page, back here afterwards. */
export function signIn() {
  location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
}

/** Orders, documents or planned outages newest first (their ids count up). */
export function newest(map) {
  return Array.from(map.values()).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** The crew ids, for the performer and crew choices. */
export const crewIds = () => store.crews.map((c) => c.id);
