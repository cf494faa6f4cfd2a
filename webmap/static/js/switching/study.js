/*
 * A study drawn: the order run step by step on a copy of the network as
 * operated now (GET /api/switching/orders/<id>/study, POST /api/switching/study).
 * After each step: customers who lose and regain supply, the critical ones
 * among them, a loop closed or sources paralleled, the feeders whose load
 * moves (transfers) and the rules broken: refusals red, warnings amber.
 */
import { h } from '../dom.js';
import { human, table } from './ui.js';

const perf = (p) => (p && p !== 'control' ? p : 'control room');

function findings(list) {
  if (!list?.length) return h('span', { class: 'muted' }, '—');
  return h('ul', { class: 'findings' }, list.map((f) => h('li', {
    class: ['finding', f.level], 'data-rule': f.rule, 'data-level': f.level,
  }, h('b', {}, f.level === 'refuse' ? 'refused' : 'warning'), ` ${f.rule}: `, f.message)));
}

function critical(lost, regained) {
  const parts = [];
  if (lost?.length) parts.push(h('span', { class: 'critical-lost' }, `cuts off ${lost.join(', ')}`));
  if (regained?.length) parts.push(h('span', { class: 'critical-back' }, `restores ${regained.join(', ')}`));
  return parts.length ? parts : h('span', { class: 'muted' }, '—');
}

function loopText(s) {
  if (!s.loop) return h('span', { class: 'muted' }, '—');
  const what = s.loop === 'parallel' ? 'parallels' : 'loop in';
  return h('span', { class: 'loop' }, `${what} ${(s.feeders || []).join(' and ') || 'one feeder'}`);
}

function transfers(s) {
  const moves = (s.transfers || []).map((t) => `${t.breaker} ${t.before}→${t.after}`);
  const over = (s.overloads || []).map((o) => `${o.breaker} ${o.customers} > ${o.capacity}`);
  if (!moves.length && !over.length) return h('span', { class: 'muted' }, '—');
  return [moves.join(', '), over.length ? h('div', { class: 'overload' }, `over capacity: ${over.join(', ')}`) : null];
}

function row(s) {
  const levels = new Set((s.findings || []).map((f) => f.level));
  return h('tr', {
    'data-seq': s.seq, class: [levels.has('refuse') && 'has-refusal', levels.has('warn') && 'has-warning'],
  },
  h('td', { class: 'num' }, s.seq),
  h('td', {}, h('b', {}, human(s.action)), ' ', s.device, h('div', { class: 'muted' }, perf(s.performer))),
  h('td', { class: 'num lost' }, s.customers_lost ?? '—'),
  h('td', { class: 'num regained' }, s.customers_regained ?? '—'),
  h('td', {}, critical(s.critical_lost, s.critical_regained)),
  h('td', {}, loopText(s)),
  h('td', {}, transfers(s)),
  h('td', { class: 'num' }, s.customers_out),
  h('td', {}, findings(s.findings)));
}

/** The study `doc` as a box: its summary, then a row per step. */
export function studyView(doc, title = 'Study') {
  const crit = doc.critical_interrupted || [];
  return h('section', { class: 'study', 'data-refusals': doc.refusals, 'data-warnings': doc.warnings },
    h('h3', {}, title),
    h('div', { class: 'study-summary' },
      h('span', {}, h('b', { class: 'num' }, doc.customers_interrupted), ' customers interrupted'),
      h('span', { class: crit.length ? 'critical-lost' : null }, h('b', { class: 'num' }, crit.length),
        ' critical', crit.length ? ` (${crit.join(', ')})` : ''),
      h('span', {}, h('b', { class: 'num' }, doc.customers_out_at_end), ' still cut off by the order at the end'),
      h('span', { class: doc.refusals ? 'refuse' : null }, h('b', { class: 'num' }, doc.refusals), ' refused'),
      h('span', { class: doc.warnings ? 'warn' : null }, h('b', { class: 'num' }, doc.warnings),
        doc.warnings === 1 ? ' warning' : ' warnings')),
    doc.steps
      ? table('study-steps', ['#', 'Step', 'Lost', 'Regained', 'Critical', 'Loop / parallel', 'Transfers', 'Out after', 'Findings'],
        doc.steps.map(row))
      : null);
}
