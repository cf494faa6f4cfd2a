/* Times on the handheld: stamped by the server's clock, with the handheld's UTC offset. */
import { now } from '../clock.js';

const pad = (n) => String(n).padStart(2, '0');
const ymd = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/** ISO 8601 with the handheld's UTC offset, e.g. 2026-03-01T10:04:05+01:00 (default: now). */
export function isoLocal(d = new Date(now())) {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${ymd(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** The value of a datetime-local input for an ISO time (local time). */
export function toInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${ymd(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local input's value as ISO 8601 with offset (or null). */
export function fromInput(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : isoLocal(d);
}

// The day with its month's name, in the handheld's language and order ("Dec 7, 08:00", "7 Dec, 08:00"):
// never digits only, which read one way in the US and the other elsewhere.
const DAY_TIME = new Intl.DateTimeFormat([], {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

/** HH:MM, with the day (its month by name, as the handheld's locale writes it) when not today. */
export function hhmm(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  // Today by the server's clock: the demo's simulated day is not the phone's.
  if (d.toDateString() === new Date(now()).toDateString()) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return DAY_TIME.format(d);
}

/** "just now", "12 min ago", "2 h ago" by the server's clock. */
export function ago(iso) {
  if (!iso) return '';
  const min = Math.round((now() - new Date(iso).getTime()) / 60000);
  if (min < 1) return 'just now';
  if (min < 90) return `${min} min ago`;
  return `${Math.round(min / 60)} h ago`;
}
