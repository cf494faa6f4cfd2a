/*
 * A job's running clocks: the main one (report to arrival, then to
 * restoration) and the running segment (dispatch, travel, ...), each against
 * its target. Cards carry them as data attributes; paintClocks() writes the
 * time left (or over) and the severity every second, by the server's clock.
 */
import { $$, byId, h } from '../dom.js';
import { now } from '../clock.js';
import { SEGMENTS, STAMPS } from './config.js';
import { fmtDuration, fmtTime, pad } from './format.js';

/** {name, start, limit} of the main clock (ms), or null when it does not run. */
export function mainClock(j) {
  const st = j.stamps || {};
  const t = j.targets || {};
  if (!st.A) return null;
  const a = Date.parse(st.A);
  if (!st.H) return { name: 'arrival', start: a, limit: t.arrival * 60000 };
  if (!st.restored) return { name: 'restore', start: a, limit: t.restoration * 60000 };
  return null;
}

/** The segment running now (its first stamp is set, no later one), or null. */
export function runningSegment(j) {
  const st = j.stamps || {};
  for (const seg of SEGMENTS) {
    if (!st[seg[0]]) continue;
    const later = STAMPS.slice(STAMPS.indexOf(seg[1]));
    if (later.some((k) => st[k])) continue;
    return { name: seg, start: Date.parse(st[seg[0]]), limit: j.targets[seg] * 60000 };
  }
  return null;
}

/** ok, warn (half the target), warn2 (three quarters) or late, by the share of the target used. */
export const sevOf = (x) => (x > 1 ? 'late' : x >= 0.75 ? 'warn2' : x >= 0.5 ? 'warn' : 'ok');

/** A card's severity: {cls, attrs} with the attributes paintClocks() follows. */
export function severity(j, t) {
  const clock = mainClock(j);
  const breached = j.breaches?.length ? 1 : 0;
  if (!clock) return { cls: breached ? 'sev-late' : 'sev-ok', attrs: { 'data-breached': breached } };
  const x = (t - clock.start) / clock.limit;
  return {
    cls: `sev-${breached ? 'late' : sevOf(x)}`,
    attrs: { 'data-breached': breached, 'data-sev-start': clock.start, 'data-sev-limit': clock.limit },
  };
}

/** The element of a countdown (filled in by paintClocks), or null without a clock. */
export function countdown(clock, label, small) {
  if (!clock) return null;
  return h('span', {
    class: ['cd', small && 'small'],
    'data-start': clock.start,
    'data-limit': clock.limit,
    'data-label': label,
    title: `${label} target: ${Math.round(clock.limit / 60000)} min from ${fmtTime(new Date(clock.start).toISOString())}`,
  });
}

/** Writes every countdown, every card's severity and the clock in the top bar. */
export function paintClocks() {
  const t = now();
  for (const el of $$('.cd[data-start]')) {
    const start = Number(el.dataset.start);
    const limit = Number(el.dataset.limit);
    const left = limit - (t - start);
    el.textContent = `${el.dataset.label} ${left >= 0 ? fmtDuration(left) : `+${fmtDuration(-left)}`}`;
    el.className = `cd${el.classList.contains('small') ? ' small' : ''} ${sevOf((t - start) / limit)}`;
  }
  for (const card of $$('.card[data-sev-start]')) {
    const x = (t - Number(card.dataset.sevStart)) / Number(card.dataset.sevLimit);
    const sev = card.dataset.breached === '1' ? 'late' : sevOf(x);
    card.classList.remove('sev-ok', 'sev-warn', 'sev-warn2', 'sev-late');
    card.classList.add(`sev-${sev}`);
  }
  const d = new Date(t);
  byId('clock').textContent = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
