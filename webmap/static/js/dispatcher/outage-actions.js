/*
 * A dispatcher's actions on an outage: confirm (maybe at another device),
 * merge others into it, split it by device, mark it restored, close it.
 * outageActions(o) says which of them may be taken now (the outage panel's buttons).
 */
import { call } from '../api.js';
import { h } from '../dom.js';
import { ACTIVE, canDispatch } from './config.js';
import { field, openDialog, valueOf } from './dialog.js';
import { words } from './format.js';
import { store } from './state.js';
import { toast } from './toast.js';

const outagePath = (o, action) => `/api/outages/${encodeURIComponent(o.id)}/${action}`;

/** {reason} when one was typed in the input `id`, else {}. */
function withReason(form, id, body = {}) {
  const reason = valueOf(form, id);
  return reason ? { ...body, reason } : body;
}

export function confirmDialog(o) {
  openDialog({
    title: `Confirm ${o.id}`,
    body: [
      h('p', {}, `${o.state} at `, h('b', {}, o.device || o.customer), ` · ${o.customers_out} customers out.`),
      o.kind === 'network' ? field('confirm-device', 'Faulted protective device', { value: o.device || '' }) : null,
      field('confirm-reason', 'Reason (optional)', { placeholder: 'e.g. crew saw the blown fuse' }),
    ],
    ok: 'Confirm',
    submit: async (form) => {
      const body = {};
      const device = form.querySelector('#confirm-device')?.value.trim();
      if (device && device !== o.device) body.device = device;
      await call('POST', outagePath(o, 'confirm'), withReason(form, 'confirm-reason', body));
      toast(`${o.id} confirmed`, 'ok');
    },
  });
}

export function mergeDialog(o) {
  const others = Array.from(store.outages.values())
    .filter((x) => x.id !== o.id && ACTIVE.has(x.state) && x.kind === 'network');
  if (!others.length) {
    toast(`No other active outage to merge into ${o.id}`, 'warning');
    return;
  }
  openDialog({
    title: `Merge into ${o.id}`,
    body: [
      h('p', {}, 'Merge these into ', h('b', {}, o.id), ` (${o.device}); they are cancelled.`),
      others.map((x) => h('label', { class: 'choice' },
        h('input', { type: 'checkbox', name: 'merge', value: x.id }),
        ` ${x.id} · ${x.device} · ${x.customers_out} out · ${x.state}`)),
      field('merge-reason', 'Reason (optional)'),
    ],
    ok: 'Merge',
    submit: async (form) => {
      const ids = Array.from(form.querySelectorAll('input[name=merge]:checked'), (c) => c.value);
      if (!ids.length) throw new Error('tick at least one outage');
      await call('POST', outagePath(o, 'merge'), withReason(form, 'merge-reason', { outages: ids }));
      toast(`${ids.join(', ')} merged into ${o.id}`, 'ok');
    },
  });
}

export function splitDialog(o) {
  openDialog({
    title: `Split ${o.id}`,
    body: [
      h('p', {}, `One outage per device; the first keeps ${o.id}.`),
      field('split-devices', 'Protective devices (two or more, separated by spaces or commas)',
        { placeholder: 'e.g. F12 F17' }),
      field('split-reason', 'Reason (optional)'),
    ],
    ok: 'Split',
    submit: async (form) => {
      const devices = words(form.querySelector('#split-devices').value);
      if (devices.length < 2) throw new Error('name at least two devices');
      await call('POST', outagePath(o, 'split'), withReason(form, 'split-reason', { devices }));
      toast(`${o.id} split at ${devices.join(', ')}`, 'ok');
    },
  });
}

export function restoreDialog(o) {
  openDialog({
    title: `Supply restored: ${o.id}`,
    body: [
      h('p', {}, `Mark ${o.id} (${o.device || o.customer}, ${o.customers_out} customers) as restored. ` +
        'Callers still out afterwards become outages of their own.'),
      field('restore-reason', 'Reason (optional)', { placeholder: 'e.g. re-fused by K3' }),
    ],
    ok: 'Mark restored',
    submit: async (form) => {
      await call('POST', outagePath(o, 'restore'), withReason(form, 'restore-reason'));
      toast(`${o.id} restored`, 'ok');
    },
  });
}

export async function closeOutage(o) {
  try {
    await call('POST', outagePath(o, 'close'), {});
    toast(`${o.id} closed`, 'ok');
  } catch (e) {
    toast(`${o.id}: ${e.message}`, 'error');
  }
}

/** The actions on `o` this user may take now, as [action, label, primary], and what each does. */
export function outageActions(o) {
  const active = ACTIVE.has(o.state);
  const network = o.kind === 'network';
  if (!canDispatch) return [];
  return [
    active && ['confirm', 'Confirm…', o.state === 'predicted'],
    active && network && ['merge', 'Merge…', false],
    active && network && ['split', 'Split…', false],
    active && ['restore', 'Restored…', false],
    o.state === 'restored' && ['close', 'Close', true],
  ].filter(Boolean);
}

export const OUTAGE_ACTIONS = {
  confirm: confirmDialog, merge: mergeDialog, split: splitDialog, restore: restoreDialog, close: closeOutage,
};
