/*
 * Switching a device from the map or a plan step: confirmed, then POST /api/switch.
 * A device already in the state asked for is not offered the operation (the
 * engine would refuse it: oms/engine/switching.py no_op_refusal); the dialog
 * says so instead.
 *
 * The engine checks the operation against its interlocks (tags, safety
 * documents, grounds, loops, critical customers...). A refusal is shown in
 * the dialog and nothing changed. Warnings are shown in the dialog with a
 * box to tick for each (js/interlocks.js): the operation is sent again,
 * acknowledging them by name, only once the operator ticked every one.
 */
import { call } from '../api.js';
import { h } from '../dom.js';
import { ackBox, allTicked, ticked, warningsOf } from '../interlocks.js';
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
  const ackHere = h('div', { class: 'ack-here' });
  let pending = null;     // the warnings shown, waiting for their ticks
  const acked = [];       // rules acknowledged on earlier tries of this dialog
  openDialog({
    title: `Switching: ${verb.toLowerCase()} ${device}`,
    body: [
      h('p', {}, h('b', {}, `${verb} ${device}`), kind ? ` (${kind})` : '', '.'),
      h('p', { class: 'warning' },
        'A switching operation changes the network as operated. It is recorded in the log and ' +
        'the audit trail under your name. Carry it out only as instructed in the switching order.'),
      ackHere,
    ],
    ok: `${verb} ${device}`,
    danger: state === 'open',
    submit: async (form, submitter) => {
      if (pending && !allTicked(form, pending)) {
        throw new Error('Tick each warning to acknowledge it, or cancel.');
      }
      const acknowledge = [...acked, ...(pending ? ticked(form) : [])];
      const body = { device, state, confirm: true, ...(acknowledge.length ? { acknowledge } : {}) };
      try {
        await call('POST', '/api/switch', body);
      } catch (e) {
        const found = warningsOf(e);
        if (!found) throw e;  // refused: the reason is shown, nothing changed
        acked.splice(0, acked.length, ...acknowledge);
        pending = found;
        ackHere.replaceChildren(ackBox(found));
        if (submitter) submitter.textContent = `Acknowledge and ${verb.toLowerCase()} ${device}`;
        throw new Error(`${device} was not operated: acknowledge the warnings above to go ahead.`);
      }
      toast(`${device} ${state === 'open' ? 'opened' : 'closed'}` +
        (acknowledge.length ? ` (acknowledged: ${acknowledge.join(', ')})` : ''), 'ok');
      onDone?.();
    },
  });
}
