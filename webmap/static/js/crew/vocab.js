/*
 * The handheld's vocabularies: a job's stages and states, what its actions
 * are called, timings; the switching desk's steps, states and documents;
 * damage reports' assets and the crews' skills.
 */

export const RETRY_MS = 4000;      // outbox retry while something waits
export const GPS_MIN_S = 60;       // a fix at most once a minute ...
export const GPS_MOVED_S = 15;     // ... or every 15 s while moving
export const GPS_MOVED_M = 100;    // ... more than 100 m

/** The stage buttons, in order: the action sent, the state it leads to, the stamp it sets. */
export const STAGES = [
  { action: 'accept', label: 'Accept', state: 'accepted', stamp: 'F' },
  { action: 'depart', label: 'Depart', state: 'en_route', stamp: 'G' },
  { action: 'arrive', label: 'Arrived', state: 'on_site', stamp: 'H' },
  { action: 'made-safe', label: 'Made safe', state: 'made_safe', stamp: 'made_safe' },
  { action: 'repaired', label: 'Repaired', state: 'repaired', stamp: 'repaired' },
  { action: 'restored', label: 'Restored', state: 'restored', stamp: 'restored' },
];
export const STATE_ORDER = ['waiting', 'dispatched', 'delivered', 'accepted', 'en_route', 'on_site',
  'made_safe', 'repaired', 'restored', 'closed'];
export const STATE_LABEL = {
  waiting: 'Waiting', dispatched: 'New', delivered: 'Received', accepted: 'Accepted',
  en_route: 'On the way', on_site: 'On site', made_safe: 'Made safe', repaired: 'Repaired',
  restored: 'Restored', closed: 'Closed', cancelled: 'Cancelled',
};
export const ACTION_LABEL = {
  deliver: 'Received', accept: 'Accept', depart: 'Depart', arrive: 'Arrived',
  'made-safe': 'Made safe', repaired: 'Repaired', restored: 'Restored',
  estimate: 'Estimate', close: 'Close-out', status: 'Shift',
  step: 'Switching step', release: 'Release', damage: 'Damage report', photo: 'Photo',
  checkin: 'Check-in',
};
/** The crew's status (oms/vocabulary.py CrewStatus) in words. */
export const CREW_STATUS_LABEL = {
  available: 'available', returning: 'returning', assigned: 'assigned', accepted: 'accepted',
  en_route: 'on the way', on_site: 'on site', off_shift: 'off shift',
};
/** The timeline of a job: stamp -> label. */
export const TIMELINE = [['A', 'Reported'], ['D', 'Dispatched'], ['E', 'Received'], ['F', 'Accepted'],
  ['G', 'Departed'], ['H', 'Arrived'], ['made_safe', 'Made safe'], ['repaired', 'Repaired'],
  ['restored', 'Restored']];

/** What the crew is told of an alert from the stream. */
export const ALERT_TEXT = {
  recalled: (a) => `${a.job} was recalled by the dispatcher${a.detail?.reason ? `: ${a.detail.reason}` : '.'}`,
  redirected: (a) => `${a.job} moved: the fault is now at ${a.detail?.to || 'another device'}.`,
  etr_passed: (a) => `${a.job}: the restoration estimate passed; now ${a.detail?.etr || 'open'}.`,
  job_cancelled: (a) => `${a.job} was cancelled${a.detail?.why ? ` (${a.detail.why}).` : '.'}`,
};

/** A switching step's action (oms/switching/documents.py STEP_ACTIONS), before its device. */
export const STEP_VERB = {
  open: 'Open', close: 'Close', place_tag: 'Place tag on', remove_tag: 'Remove tag from',
  apply_ground: 'Apply ground at', remove_ground: 'Remove ground from',
  place_jumper: 'Place jumper across', remove_jumper: 'Remove jumper from',
  cut: 'Cut', remove_cut: 'Remove cut on',
};
/** The states of switching orders, safety documents and planned outages, in words. */
export const DESK_STATE_LABEL = {
  issued: 'Issued', in_progress: 'In progress', completed: 'Completed', cancelled: 'Cancelled',
  released: 'Released', approved: 'Approved', rejected: 'Rejected', requested: 'Requested',
};
/** The kinds of safety document (DOCUMENT_KINDS). */
export const DOCUMENT_LABEL = { clearance: 'Clearance', hold: 'Hold', delegated: 'Delegated control' };

/** What a damage report names as damaged (oms/engine/damage.py ASSETS), in words. */
export const ASSETS = {
  pole: 'Pole', conductor: 'Conductor (line down)', transformer: 'Transformer', crossarm: 'Crossarm',
  insulator: 'Insulator', switch: 'Switch', tree_on_line: 'Tree on the line', service_drop: 'Service drop',
  other: 'Other',
};
/** The crews' skills (oms/storage/inputs.py SKILLS): the crew a repair needs. */
export const SKILLS = ['line', 'cable', 'tree', 'service', 'emergency'];
export const MAX_PHOTOS = 10;       // a report names at most this many photos
export const PHOTO_MAX_PX = 1600;   // a photo's longer side, once downscaled
export const MAX_REPAIR_MIN = 10080;
