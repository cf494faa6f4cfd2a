/*
 * Interlock warnings to acknowledge, on every page that switches.
 *
 * The engine checks every commanded operation (a plain switch, a step of a
 * switching order) against its interlocks. A refusal is final: its reason
 * is shown and nothing changed. A warning is refused too, its reason ending
 * with the rules to acknowledge: "close TIE1 parallels B1 and B2
 * (acknowledge: parallel)". The same request sent again with
 * "acknowledge": ["parallel"] goes through. A page never acknowledges by
 * itself: it shows the warnings and a box to tick for each rule
 * (ackBox), and sends again only the rules the operator ticked (ticked),
 * once every one is (allTicked).
 */
import { h } from './dom.js';

const ACK = /\s*\(acknowledge: ([^)]*)\)\s*$/;

/**
 * The warnings of a refusal that may be acknowledged, or null (a refusal
 * that may not): {warnings: [message, ...], rules: [rule, ...]}.
 * `error`: an ApiError (js/api.js) or its message.
 */
export function warningsOf(error) {
  if (error && typeof error === 'object' && error.status !== undefined && error.status !== 422) return null;
  const text = String(error?.message ?? error ?? '');
  const m = ACK.exec(text);
  if (!m) return null;
  const rules = m[1].split(',').map((r) => r.trim()).filter(Boolean);
  const warnings = text.slice(0, m.index).split('; ').map((w) => w.trim()).filter(Boolean);
  return rules.length ? { warnings, rules } : null;
}

/** The warnings and one box to tick per rule (name="ack"), to put in a confirm dialog's form. */
export function ackBox(found) {
  return h('div', { class: 'ack', role: 'group', 'aria-label': 'Warnings to acknowledge' },
    h('p', { class: 'ack-head' }, h('b', {}, 'Interlock warning'),
      found.warnings.length > 1 ? `s (${found.warnings.length})` : '',
      ': nothing was done. Read each warning; tick it to acknowledge it and carry on.'),
    h('ul', { class: 'ack-warnings' }, found.warnings.map((w) => h('li', {}, w))),
    found.rules.map((rule) => h('label', { class: 'ack-rule' },
      h('input', { type: 'checkbox', name: 'ack', value: rule, 'data-rule': rule }),
      ' I acknowledge the ', h('b', {}, rule), ' warning')));
}

/** The rules ticked in `form`'s acknowledgement box. */
export function ticked(form) {
  return Array.from(form.querySelectorAll('input[name=ack]:checked'), (c) => c.value);
}

/** Whether every rule of `found` is ticked in `form`. */
export function allTicked(form, found) {
  const got = new Set(ticked(form));
  return found.rules.every((r) => got.has(r));
}
