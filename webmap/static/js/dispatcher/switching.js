/* Switching a device from the map or a plan step: confirmed, then POST /api/switch. */
import { call } from '../api.js';
import { h } from '../dom.js';
import { openDialog } from './dialog.js';
import { toast } from './toast.js';

/** Asks to confirm opening (`state` 'open') or closing ('closed') `device`. */
export function switchDialog(device, state, kind) {
  const verb = state === 'open' ? 'Open' : 'Close';
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
    },
  });
}
