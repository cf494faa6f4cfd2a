/*
 * Bulk close of restored outages: the dispatcher ticks several (or none:
 * then every restored one) and closes them in one request
 * (POST /api/outages/bulk/close); each close is an outage_close event of
 * its own, in the outage's audit trail. What became of each is told.
 */
import { call } from '../api.js';
import { plural } from './format.js';
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

/** Closes the ticked outages, or every restored one when none is ticked. */
export async function closeRestored() {
  const ids = Array.from(picked);
  const body = ids.length ? { outages: ids } : { restored: true };
  try {
    const answer = await call('POST', '/api/outages/bulk/close', body);
    const closed = answer.outages.filter((r) => r.result === 'closed');
    const others = answer.outages.filter((r) => r.result !== 'closed');
    picked.clear();
    toast(`${plural(closed.length, 'outage')} closed`, 'ok');
    for (const r of others) toast(`${r.outage}: ${r.error || r.result}`, 'warning', 8000);
  } catch (err) {
    toast(`Close: ${err.message}`, 'error');
  }
  renderSoon();
}
