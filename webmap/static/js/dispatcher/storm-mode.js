/*
 * The dispatcher's storm mode control (#storm-open in the top bar, shown to
 * those who may change it: canStorm): turn storm mode on with a reason and a
 * dispatch policy, set the storm ETR for all zones and per zone, change them
 * while it is on, turn it off. One POST /api/storm each (a storm_mode event
 * of the engine, audited there); a refusal is shown in the dialog with the
 * engine's reason. The banner (../storm.js) follows from the stream.
 */
import { call } from '../api.js';
import { byId, h } from '../dom.js';
import { POLICIES, onStorm, refreshStorm, stormState, stormTime, zoneNames } from '../storm.js';
import { canStorm } from './config.js';
import { openDialog, valueOf } from './dialog.js';
import { pad } from './format.js';
import { toast } from './toast.js';

/** What each dispatch policy does while storm mode is on (docs/dispatcher.md). */
const POLICY_HELP = {
  suggest: 'nothing is sent without a dispatcher; crews are only suggested',
  batch: 'waiting jobs are assigned together, every time',
  automatic: 'jobs are assigned one by one as they come',
};

/** An ISO time as a datetime-local input's value (this browser's time zone), or ''. */
function localValue(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local input's value as an ISO time with its offset, or null when empty. */
function isoOf(value) {
  return value ? new Date(value).toISOString() : null;
}

function timeInput(id, iso, attrs = {}) {
  return h('input', { type: 'datetime-local', id, value: localValue(iso), ...attrs });
}

/** The zones' rows: each zone's name and its storm ETR. */
function zoneRows(names, etrs) {
  const ids = [...new Set([...Object.keys(names), ...Object.keys(etrs)])]
    .sort((a, b) => String(names[a] ?? a).localeCompare(String(names[b] ?? b)));
  return ids.map((zone, i) => h('tr', { 'data-zone': zone },
    h('th', {}, h('label', { for: `storm-zone-${i}` }, names[zone] ?? zone),
      names[zone] && names[zone] !== zone ? h('small', {}, ` ${zone}`) : null),
    h('td', {}, timeInput(`storm-zone-${i}`, etrs[zone], { 'data-zone': zone }))));
}

/** The prediction rules storm mode puts in force (the engine configuration's storm section). */
function rulesText(rules) {
  const set = Object.entries(rules?.prediction ?? {}).map(([k, v]) => `${k} ${v}`);
  for (const key of ['pings_per_check', 'pings_after_restoration']) {
    if (rules && rules[key] != null) set.push(`${key} ${rules[key]}`);
  }
  return set.length
    ? `Locating outages with the storm's rules: ${set.join(', ')}.`
    : 'Locating outages with the usual rules (no storm rules configured).';
}

/** The body of a POST /api/storm that turns it on or changes it, from the form. */
function settings(form, before) {
  const body = {
    on: true,
    dispatch: form.querySelector('#storm-dispatch').value,
    etr: isoOf(form.querySelector('#storm-etr').value),
  };
  const zones = {};
  for (const input of form.querySelectorAll('input[data-zone]')) {
    const when = isoOf(input.value);
    // A zone left empty drops the ETR it had; one never set is not mentioned.
    if (when || before.zone_etrs?.[input.dataset.zone]) zones[input.dataset.zone] = when;
  }
  if (Object.keys(zones).length) body.zone_etrs = zones;
  const reason = valueOf(form, 'storm-reason');
  if (reason) body.reason = reason;
  return body;
}

/** The storm mode dialog: on (with its settings), changed, or off. */
export async function stormDialog() {
  const s = stormState();
  const names = await zoneNames();
  const on = Boolean(s.on);
  const policy = s.dispatch ?? 'suggest';
  openDialog({
    title: on ? 'Storm mode' : 'Turn storm mode on',
    body: [
      h('p', { id: 'storm-now' }, on
        ? `On since ${stormTime(s.since)}, last changed by ${s.by}.`
        : 'Storm mode changes how jobs are dispatched and which ETR customers are given, on every page, until it is turned off.'),
      h('label', { for: 'storm-reason' }, on ? 'Reason' : 'Reason (e.g. the storm\'s name)'),
      h('input', { type: 'text', id: 'storm-reason', value: s.reason ?? '', required: !on, autocomplete: 'off' }),
      h('label', { for: 'storm-dispatch' }, 'Dispatch'),
      h('select', { id: 'storm-dispatch' }, Object.entries(POLICIES).map(([value, words]) =>
        h('option', { value, selected: value === policy }, `${words}: ${POLICY_HELP[value]}`))),
      h('label', { for: 'storm-etr' }, 'Storm ETR for every zone (empty: none)'),
      timeInput('storm-etr', s.etr),
      h('p', { class: 'muted' }, 'A zone\'s storm ETR wins over the one for every zone; either is given where it is later than a job\'s own estimate.'),
      h('div', { class: 'storm-zones' }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'Zone'), h('th', {}, 'Storm ETR'))),
        h('tbody', {}, zoneRows(names, s.zone_etrs ?? {})))),
      on ? h('p', { id: 'storm-rules', class: 'muted' }, rulesText(s.rules)) : null,
      on ? h('div', { class: 'storm-off' },
        h('button', { type: 'submit', class: 'btn danger', id: 'storm-off', value: 'off' }, 'Turn storm mode off'),
        h('span', { class: 'muted' }, ' automatic dispatch goes back to what it was before the storm')) : null,
    ],
    ok: on ? 'Save' : 'Turn on',
    submit: async (form, submitter) => {
      if (submitter?.id === 'storm-off') {
        const reason = valueOf(form, 'storm-reason');
        await call('POST', '/api/storm', { on: false, ...(reason ? { reason } : {}) });
        toast('Storm mode off', 'ok');
      } else {
        await call('POST', '/api/storm', settings(form, s));
        toast(on ? 'Storm mode changed' : 'Storm mode on', 'ok');
      }
      refreshStorm();
    },
  });
}

/** The top bar's button: there for those who may change storm mode, lit while it is on. */
export function wireStormMode() {
  const button = byId('storm-open');
  if (!button || !canStorm) return;
  button.hidden = false;
  button.addEventListener('click', () => { stormDialog(); });
  const mark = (s) => {
    button.toggleAttribute('data-on', Boolean(s.on));
    button.setAttribute('aria-pressed', String(Boolean(s.on)));
  };
  mark(stormState());
  onStorm(mark);
}
