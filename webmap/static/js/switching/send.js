/*
 * The desk's actions, as the API takes them.
 *
 * A refusal (422, 404, 409) carries the engine's reason: it is kept for the
 * document it concerns (ui.refusals, drawn red beside it) and shown in a
 * toast; nothing changed. An interlock warning is no refusal to keep: the
 * operator is asked, in a dialog that names each warning, to tick the
 * rules to acknowledge, and only then is the same request sent again with
 * "acknowledge" (js/interlocks.js). Never acknowledged by the page itself.
 */
import { ApiError, call } from '../api.js';
import { h } from '../dom.js';
import { ackBox, allTicked, ticked, warningsOf } from '../interlocks.js';
import { openDialog } from './dialog.js';
import { renderSoon, store, ui } from './state.js';
import { toast } from './ui.js';

const STORES = { SO: 'orders', SD: 'safety', PO: 'planned' };

/** Keeps a document the API answered with (the stream brings it too, maybe later). */
export function keep(doc) {
  const where = doc && STORES[String(doc.id).slice(0, 2)];
  if (where) store[where].set(doc.id, doc);
  renderSoon();
  return doc;
}

function refused(ref, e) {
  if (!(e instanceof ApiError) || e.status === 401) throw e;
  if (ref) ui.refusals.set(ref, e.message);
  toast(ref && !e.message.startsWith(ref) ? `${ref}: ${e.message}` : e.message, 'error', 9000);
  renderSoon();
  return null;
}

/**
 * POSTs an action on document `ref`; the document answered (kept), or null
 * when refused (the reason kept for `ref` and shown).
 */
export async function act(ref, url, body = {}) {
  try {
    const doc = keep(await call('POST', url, body));
    if (ref) ui.refusals.delete(ref);
    return doc;
  } catch (e) {
    return refused(ref, e);
  }
}

/**
 * POSTs an operation the interlocks check (a step of an order). Warnings
 * open a dialog naming each; the request goes again with the rules the
 * operator ticked, every one of them, or not at all. Resolves to the
 * document, or null (refused, or the operator cancelled).
 */
export async function actChecked(ref, url, body, what) {
  try {
    const doc = keep(await call('POST', url, body));
    ui.refusals.delete(ref);
    return doc;
  } catch (e) {
    const found = warningsOf(e);
    if (!found) return refused(ref, e);
    return acknowledge(ref, url, body, what, found);
  }
}

function acknowledge(ref, url, body, what, first) {
  return new Promise((resolve) => {
    const here = h('div', {}, ackBox(first));
    let pending = first;
    const acked = [];
    let result = null;
    const form = openDialog({
      title: `${what}: warnings to acknowledge`,
      body: here,
      ok: `Acknowledge and carry out`,
      submit: async (f) => {
        if (!allTicked(f, pending)) throw new Error('Tick each warning to acknowledge it, or cancel.');
        const acknowledge = [...acked, ...ticked(f)];
        try {
          result = keep(await call('POST', url, { ...body, acknowledge }));
        } catch (e) {
          const found = warningsOf(e);
          if (!found) {  // refused now: the reason shows in the dialog and beside the document
            if (e instanceof ApiError) ui.refusals.set(ref, e.message);
            renderSoon();
            throw e;
          }
          acked.splice(0, acked.length, ...acknowledge);
          pending = found;
          here.replaceChildren(ackBox(found));
          throw new Error('More warnings: tick each to acknowledge it, or cancel.');
        }
        ui.refusals.delete(ref);
        toast(`${what} done (acknowledged: ${acknowledge.join(', ')})`, 'ok');
      },
    });
    form.closest('dialog').addEventListener('close', () => resolve(result), { once: true });
  });
}
