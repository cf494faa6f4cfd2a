/*
 * The list view: the refused actions (#rejected, until dismissed; one refused
 * for warnings offers to acknowledge them and send it again), the crew's
 * jobs (#jobs), the outbox (#outbox) and when the list was loaded.
 */
import { now } from '../clock.js';
import { byId, fill, h } from '../dom.js';
import { priorityAt } from '../priority.js';
import { acknowledge, dismiss, effectiveState, pendingFor } from './outbox.js';
import { S } from './state.js';
import { ago, hhmm } from './time.js';
import { ACTION_LABEL, STATE_LABEL } from './vocab.js';

const actionLabel = (i) => i.label || ACTION_LABEL[i.action] || i.action;

export function renderRejected() {
  fill(byId('rejected'), S.outbox.filter((x) => x.status !== 'queued').map((i) =>
    h('div', { class: ['banner', i.ack?.length ? 'warn' : 'bad'], 'data-outbox': i.id, role: 'alert' },
      h('p', {}, h('strong', {}, `Not applied: ${actionLabel(i)}${i.job ? ` on ${i.job}` : ''} (pressed ${hhmm(i.created)})`)),
      h('p', { class: 'reason' }, i.error || 'refused by the server'),
      h('div', { class: 'row' },
        i.ack?.length ? h('button', {
          class: 'btn small primary', type: 'button', 'data-acknowledge': i.ack.join(','),
          onclick: () => acknowledge(i.id),
        }, `Acknowledge ${i.ack.join(', ')} and send`) : null,
        h('button', { class: 'btn small', type: 'button', onclick: () => dismiss(i.id) }, 'Dismiss')))));
}

function jobCard(j) {
  const state = effectiveState(j);
  const pending = pendingFor(j.id).filter((i) => !i.quiet).length;
  const what = j.kind === 'single_customer' ? `Customer ${j.customer || ''}` : `Device ${j.device || ''}`;
  const tag = (text, cls = '') => h('span', { class: ['tag', cls] }, text);
  return h('li', {},
    h('a', { class: ['card', j.hazard && 'hazard'], href: `#/job/${encodeURIComponent(j.id)}`, 'data-job': j.id },
      h('div', { class: 'top' }, h('span', {}, j.id), h('span', { class: 'state' }, STATE_LABEL[state] || state)),
      h('div', { class: 'sub' }, `${what} · ${j.area_class || ''}${j.zone ? ` · ${j.zone}` : ''}`),
      h('div', {},
        j.hazard ? tag('HAZARD', 'bad') : null,
        tag(`priority ${Math.round(priorityAt(j, now()))}`),
        j.stamps?.A ? tag(`reported ${ago(j.stamps.A)}`) : null,
        j.etr ? tag(`ETR ${hhmm(j.etr)}`) : null,
        j.breaches?.length ? tag(`late: ${j.breaches.join(', ')}`, 'bad') : null,
        pending ? tag(`${pending} waiting to send`, 'pending') : null)));
}

export function renderList() {
  const jobs = S.order.map((id) => S.jobs.get(id)).filter(Boolean);
  fill(byId('jobs'), jobs.map(jobCard));
  byId('jobs-empty').hidden = jobs.length > 0;
  const when = S.synced ? `Jobs as of ${hhmm(S.synced)} (${ago(S.synced)})` : 'Jobs not loaded yet';
  byId('synced').textContent = S.online ? when : `${when} · offline: showing the last known list`;
}

export function renderOutbox() {
  const queued = S.outbox.filter((i) => i.status === 'queued');
  byId('outbox').hidden = queued.length === 0;
  byId('outbox-n').textContent = String(queued.length);
  fill(byId('outbox-list'), queued.map((i) => h('li', { 'data-outbox': i.id },
    `${actionLabel(i)}${i.job ? ` · ${i.job}` : ''} · pressed ${hhmm(i.created)}`,
    i.user && S.user && i.user !== S.user.username ? ` · waits for ${i.user} to sign in` : '')));
}
