/* How the dispatcher page writes times, durations and counts. */
import { now } from '../clock.js';

export const pad = (n) => String(n).padStart(2, '0');

/** 1:05:09 or 5:09 (the sign is the caller's). */
export function fmtDuration(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor(s / 60) % 60;
  return `${hours ? `${hours}:${pad(minutes)}` : minutes}:${pad(s % 60)}`;
}

/** HH:MM local time, or a dash. */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** How long ago, by the server's clock: "12 min", "2 h 5 min". */
export function fmtAge(iso) {
  if (!iso) return '';
  const min = Math.max(0, Math.round((now() - Date.parse(iso)) / 60000));
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}

export const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** on_site -> "on site". */
export const human = (name) => String(name ?? '').replace(/_/g, ' ');

/** The words of a list typed by hand ("F12, F17" -> ["F12", "F17"]). */
export const words = (text) => String(text || '').split(/[\s,;]+/).filter(Boolean);

/** `fn` at most once per `ms`: calls in between are folded into the one pending. */
export function debounce(fn, ms) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}
