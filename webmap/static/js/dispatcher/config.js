/*
 * The dispatcher page's settings and vocabularies.
 *
 * CONFIG is what the server wrote into #oms-config (see webmap/dispatcher.py):
 * the user, what they may do, the network's bounds, the tile server. The
 * rest is how the page draws and orders things.
 */

export const CONFIG = JSON.parse(document.getElementById('oms-config').textContent);
/** What this user may do, from the routes' own rules on the server. */
export const canDispatch = Boolean(CONFIG.canDispatch);
export const canSwitch = Boolean(CONFIG.canSwitch);
/** Storm mode: turned on, changed and off by the dispatcher (POST /api/storm). */
export const canStorm = Boolean(CONFIG.canStorm);
/** The calls owed: record a call (customer_contact); keep the register (critical_customer). */
export const canContact = Boolean(CONFIG.canContact);
export const canRegister = Boolean(CONFIG.canRegister);
/** The engine's vocabularies (oms/vocabulary.py), sent with the page. */
const VOCAB = CONFIG.vocabulary;

/** Network lines by state as operated. */
export const STATE_STYLE = {
  energized: { color: '#35b27c', weight: 1.6, opacity: 0.85 },
  open: { color: '#e8e8e8', weight: 2.2, opacity: 0.95, dashArray: '4 4' },
  deenergized: { color: '#ff9f1a', weight: 2.6, opacity: 0.95 },
  faulted: { color: '#ff3355', weight: 5, opacity: 1 },
};
/** A switching plan's lines by role. */
export const PLAN_STYLE = {
  isolated: { color: '#b07cff', weight: 3, opacity: 0.55, dashArray: '2 5' },
  open: { color: '#ffffff', weight: 6, opacity: 1 },
  close: { color: '#35e08f', weight: 6, opacity: 1 },
  faulted: { color: '#ff3355', weight: 7, opacity: 1 },
};
export const CREW_COLORS = {
  available: '#35b27c', assigned: '#4ea1ff', accepted: '#4ea1ff', en_route: '#b07cff',
  on_site: '#f2c94c', returning: '#3cc6c6', off_shift: '#6b7280',
};
export const CREW_COLOR_UNKNOWN = '#8d9aa8';
/** Crew statuses, readiest first. */
export const CREW_ORDER = VOCAB.crew_statuses;

/** A job's timed segments (from one stamp to the next) and their names. */
export const SEGMENTS = VOCAB.segments;
export const SEG_NAMES = {
  AB: 'issue', BC: 'to repair centre', CD: 'dispatch', DE: 'delivery',
  EF: 'accept', FG: 'depart', GH: 'travel',
};
export const STAMPS = VOCAB.stamps;

/** Outage states: active (customers out), and open (shown in the panel). */
export const ACTIVE = new Set(VOCAB.active_outage_states);
export const OPEN_OUTAGE = new Set(VOCAB.shown_outage_states);
/** Job states that leave the panel. */
export const DONE_JOB = new Set(VOCAB.finished_job_states);

/** Why a crew was not suggested (GET /api/jobs/<id>/suggest). */
export const WHY_NOT = {
  busy: 'busy', off_shift: 'off shift', unqualified: 'not qualified', stale_gps: 'GPS stale', farther: 'farther',
};

/** To the sign-in page, back here afterwards. */
export function signIn() {
  location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
}
