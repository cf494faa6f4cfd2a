/*
 * Switching a device from the map or a plan step: confirmed, then POST /api/switch.
 * A device already in the state asked for is not offered the operation (the
 * engine would refuse it: oms/engine/switching.py no_op_refusal); the dialog
 * says so instead.
 */
import { call } from '../api.js';
import { h } from '../dom.js';
import { openDialog } from './dialog.js';
import { toast } from './toast.js';

/**
 * Asks to confirm opening (`state` 'open') or closing ('closed') `device`.
 * `current`: the device's state as the page knows it ('open', 'closed'),
 * `note`: what the page knows of it ('tripped'), `onDone()`: after it was done.
 */
export function switchDialog(device, state, kind, { current = null, note = '', onDone = null } = {}) {
  const verb = state === 'open' ? 'Open' : 'Close';
  if (current === state) {
    openDialog({
      title: `Switching: ${device}`,
      body: h('p', { class: 'already' },
        h('b', {}, `${device} is already ${state}`), note ? ` (${note})` : '', '. Nothing to operate.'),
    });
    return;
  }
  openDialog({
    title: `Switching: ${verb.toLowerCase()} ${device}`,
    body: [
      h('p', {}, h('b', {}, `${verb} ${device}`), kind ? ` (${kind})` : '', '.'),
      h('p', { class: 'warning' },
        'A switching operation changes the network as operated. It is recorded in the log and ' +
        'the audit trail under your name. Carry it out only as instructed in the switching order.'),
    ],
    ok: `${verb} ${device}`,
    danger: state === 'open',
    submit: async () => {
      await call('POST', '/api/switch', { device, state, confirm: true });
      toast(`${device} ${state === 'open' ? 'opened' : 'closed'}`, 'ok');
      onDone?.();
    },
  });
}
