/*
 * Bulk close of restored outages: the dispatcher ticks several (or none:
 * then every restored one) and closes them in one request
 * (POST /api/outages/bulk/close) once asked; each close is an
 * outage_close event of its own, in the outage's audit trail. What became
 * of each is told.
 */
import { call } from '../api.js';
import { h } from '../dom.js';
import { openDialog } from './dialog.js';
import { fmtAge, plural } from './format.js';
import { renderSoon, store } from './state.js';
import { toast } from './toast.js';

/** Outages ticked for closing. */
export const picked = new Set();

export function togglePick(id) {
  if (picked.has(id)) picked.delete(id);
  else picked.add(id);
  renderSoon();
}

/** Restored outages in the panel (ticked ones are dropped when no longer restored). */
export function restoredIds() {
  const ids = [];
  for (const o of store.outages.values()) if (o.state === 'restored') ids.push(o.id);
  for (const id of picked) if (!ids.includes(id)) picked.delete(id);
  return ids;
}

/**
 * Asks first, then closes the ticked outages, or the restored ones the
 * filters show when none is ticked (`shown`): exactly those listed in the
 * question, never one restored while it was open (a storm restores dozens
 * a minute).
 */
export function closeRestored(shown) {
  restoredIds(); // drops ticks on outages no longer restored
  const ids = picked.size ? Array.from(picked) : shown.filter((id) => store.outages.get(id)?.state === 'restored');
  if (!ids.length) return;
  const listed = ids.slice(0, 12).map((id) => {
    const o = store.outages.get(id) || { id };
    const where = o.device || o.customer || '';
    const out = o.customers_out == null ? '' : ` · ${plural(o.customers_out, 'customer')}`;
    const when = o.restored ? ` · restored ${fmtAge(o.restored)} ago` : '';
    return h('li', {}, h('b', {}, id), where ? ` ${where}` : '', out, when);
  });
  openDialog({
    title: `Close ${plural(ids.length, 'restored outage')}?`,
    body: [
      h('ul', { id: 'bulk-close-ids' }, listed, ids.length > listed.length ? h('li', {}, `and ${ids.length - listed.length} more`) : null),
      h('p', { class: 'muted' },
        'Only these are closed, each with your name in its history, as if closed one by one; '
        + 'outages restored after you pressed the button stay open. Any that cannot be closed are listed with the reason.'),
    ],
    ok: `Close ${plural(ids.length, 'outage')}`,
    submit: () => send(ids),
  });
}

async function send(ids) {
  const answer = await call('POST', '/api/outages/bulk/close', { outages: ids });
  const closed = answer.outages.filter((r) => r.result === 'closed');
  const others = answer.outages.filter((r) => r.result !== 'closed');
  for (const id of ids) picked.delete(id);
  toast(`${plural(closed.length, 'outage')} closed`, 'ok');
  for (const r of others) toast(`${r.outage}: ${r.error || r.result}`, 'warning', 8000);
  renderSoon();
}
