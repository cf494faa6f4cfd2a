/*
 * A dispatcher's actions on a job: assign a crew (the suggested one, or any
 * other), recall it from its crew.
 */
import { call } from '../api.js';
import { now } from '../clock.js';
import { h } from '../dom.js';
import { priorityAt } from '../priority.js';
import { WHY_NOT } from './config.js';
import { openDialog, valueOf } from './dialog.js';
import { human } from './format.js';
import { store } from './state.js';
import { toast } from './toast.js';

const jobPath = (j, action) => `/api/jobs/${encodeURIComponent(j.id)}/${action}`;
const eta = (s) => (s === null || s === undefined ? '' : `ETA ${Math.max(1, Math.round(s / 60))} min`);

function crewLabel(id) {
  const c = store.crews.get(id);
  return `${id}${c?.name ? ` · ${c.name}` : ''}`;
}

async function assign(job, crew) {
  const doc = await call('POST', jobPath(job, 'assign'), crew ? { crew } : {});
  toast(`${job.id} assigned${crew ? ` to ${crew}` : ''}`, 'ok');
  return doc;
}

/** Why each crew is or is not the one to send, for the crew list. */
function crewNote(id, suggestion, why) {
  if (id === suggestion.crew) return `suggested, ${eta(suggestion.eta_s)}`;
  const a = why.get(id);
  if (a) return (WHY_NOT[a.why_not] || a.why_not) + (a.eta_s !== null && a.eta_s !== undefined ? `, ${eta(a.eta_s)}` : '');
  const c = store.crews.get(id);
  return c ? human(c.status) : '';
}

function crewOptions(suggestion) {
  const why = new Map((suggestion.alternatives || []).map((a) => [a.crew, a]));
  const ids = Array.from(store.crews.keys()).sort();
  if (suggestion.crew && !ids.includes(suggestion.crew)) ids.unshift(suggestion.crew);
  return ids.map((id) => {
    const note = crewNote(id, suggestion, why);
    return h('option', { value: id, selected: id === suggestion.crew }, crewLabel(id), note ? ` — ${note}` : '');
  });
}

/** Assign: the suggested crew in one click, or any crew from the list. */
export async function assignDialog(j) {
  let suggestion;
  try {
    suggestion = await call('GET', jobPath(j, 'suggest'));
  } catch (e) {
    suggestion = { crew: null, rule: 'none', alternatives: [], error: e.message };
  }
  const where = j.device ? j.device : `customer ${j.customer}`;
  const body = [
    h('p', {}, `${j.id} · ${where} · priority ${Math.round(priorityAt(j, now()))}`,
      j.crew ? [' · now with ', h('b', {}, j.crew)] : null),
    suggestion.crew
      ? h('div', { class: 'suggest' },
        h('div', { class: 'who' }, 'Suggested: ', h('b', {}, crewLabel(suggestion.crew)), h('br'),
          h('span', { class: 'row' }, `${suggestion.rule} rule · ${eta(suggestion.eta_s)}`)),
        h('button', { type: 'submit', class: 'btn primary', id: 'assign-suggested', value: 'suggested' },
          `Assign ${suggestion.crew}`))
      : h('p', { class: 'warning' }, `No crew is free for this job${suggestion.error ? `: ${suggestion.error}` : ''}.`),
    h('label', { for: 'assign-crew' }, 'Or send another crew'),
    h('select', { id: 'assign-crew', name: 'crew' }, crewOptions(suggestion)),
  ];
  openDialog({
    title: `Assign ${j.id}`,
    body,
    ok: 'Assign selected crew',
    submit: (form, submitter) => {
      if (submitter?.id === 'assign-suggested') return assign(j, suggestion.crew);
      const crew = form.querySelector('#assign-crew').value;
      if (!crew) throw new Error('choose a crew');
      return assign(j, crew);
    },
  });
}

/** Recall: the job goes back to waiting, with the reason. */
export function recallDialog(j) {
  openDialog({
    title: `Recall ${j.id} from ${j.crew}`,
    body: [
      h('p', {}, "The job goes back to waiting; the crew's handheld is told."),
      h('label', { for: 'recall-reason' }, 'Reason'),
      h('input', { type: 'text', id: 'recall-reason', required: true, placeholder: 'e.g. sent to the wrong area' }),
    ],
    ok: 'Recall',
    danger: true,
    submit: async (form) => {
      const reason = valueOf(form, 'recall-reason');
      if (!reason) throw new Error('give a reason');
      await call('POST', jobPath(j, 'recall'), { reason });
      toast(`${j.id} recalled`, 'ok');
    },
  });
}
