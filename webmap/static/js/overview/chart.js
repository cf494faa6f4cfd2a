/*
 * Customers out over time, drawn as plain SVG: the area of customers out
 * (the samples of GET /api/overview, equal steps ending now), the critical
 * customers out as a line on the same scale, time ticks, a y scale of
 * round numbers, the peak marked, and the figure now at the right edge.
 * Sized to its box; drawn again when the box changes size.
 */
import { count, hhmm } from '../format.js';

const NS = 'http://www.w3.org/2000/svg';

function el(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A round top for the y scale and its step (1, 2 or 5 times a power of ten). */
function scale(max) {
  const top = Math.max(max, 4);
  const raw = top / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw);
  return { step, top: Math.ceil(top / step) * step };
}

/** Minutes between x ticks, so that about six fit (a chart of half an hour has some too). */
const tickMinutes = (minutes) => [5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440].find((k) => minutes / k <= 7) ?? 1440;

/**
 * Draws `series` ([{time, customers_out, critical_out}]) with `peak` into `box`.
 * `big`: the wall display's type sizes.
 */
export function drawChart(box, series, peak, { big = false } = {}) {
  const w = Math.max(box.clientWidth, 200);
  const h = Math.max(box.clientHeight, 120);
  const font = big ? Math.max(18, Math.round(h / 14)) : 12;
  const pad = { l: font * 4.2, r: font * 5.5, t: font * 1.6, b: font * 2.2 };
  const svg = el('svg', {
    width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: 'img', class: 'chart-svg',
    'aria-label': `Customers out, ${count(series.at(-1)?.customers_out)} now`,
  });
  if (!series.length) {
    box.replaceChildren(svg);
    return;
  }
  const t0 = Date.parse(series[0].time);
  const t1 = Date.parse(series.at(-1).time);
  const span = Math.max(t1 - t0, 1);
  const { top, step } = scale(Math.max(...series.map((p) => p.customers_out), peak?.customers_out ?? 0));
  const x = (t) => pad.l + ((t - t0) / span) * (w - pad.l - pad.r);
  const y = (v) => h - pad.b - (v / top) * (h - pad.t - pad.b);

  for (let v = 0; v <= top; v += step) {
    svg.append(el('line', { x1: pad.l, x2: w - pad.r, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(el('text', { x: pad.l - font * 0.5, y: y(v) + font * 0.35, class: 'tick y', 'font-size': font }, count(v)));
  }
  const every = tickMinutes(span / 60000);
  const first = new Date(t0);
  first.setSeconds(0, 0);
  for (let t = first.getTime() + (first.getTime() < t0 ? 60000 : 0); t <= t1; t += 60000) {
    const at = new Date(t);
    if ((at.getHours() * 60 + at.getMinutes()) % every) continue;
    svg.append(el('line', { x1: x(t), x2: x(t), y1: h - pad.b, y2: h - pad.b + font * 0.4, class: 'axis' }));
    svg.append(el('text', { x: x(t), y: h - pad.b + font * 1.5, class: 'tick x', 'font-size': font }, hhmm(new Date(t).toISOString())));
  }
  svg.append(el('line', { x1: pad.l, x2: w - pad.r, y1: y(0), y2: y(0), class: 'axis' }));

  const pts = series.map((p) => [x(Date.parse(p.time)), y(p.customers_out)]);
  const line = pts.map(([a, b], k) => `${k ? 'L' : 'M'}${a.toFixed(1)},${b.toFixed(1)}`).join('');
  svg.append(el('path', { d: `${line}L${pts.at(-1)[0].toFixed(1)},${y(0)}L${pts[0][0].toFixed(1)},${y(0)}Z`, class: 'area' }));
  svg.append(el('path', { d: line, class: 'line customers' }));
  const crit = series.map((p, k) => `${k ? 'L' : 'M'}${x(Date.parse(p.time)).toFixed(1)},${y(p.critical_out).toFixed(1)}`).join('');
  svg.append(el('path', { d: crit, class: 'line critical' }));

  const last = series.at(-1);
  svg.append(el('circle', { cx: pts.at(-1)[0], cy: pts.at(-1)[1], r: font * 0.35, class: 'now' }));
  svg.append(el('text', { x: pts.at(-1)[0] + font * 0.6, y: pts.at(-1)[1] + font * 0.35, class: 'label now', 'font-size': font * 1.15 }, count(last.customers_out)));
  const tp = peak ? Date.parse(peak.time) : NaN;
  // A peak at the right edge is the figure now, already labelled.
  if (peak && peak.customers_out > 0 && tp >= t0 && tp < t1 - span * 0.04) {
    const px = x(tp);
    const py = y(peak.customers_out);
    svg.append(el('circle', { cx: px, cy: py, r: font * 0.35, class: 'peak' }));
    const anchor = px > (w - pad.r) * 0.75 ? 'end' : 'start';
    svg.append(el('text', { x: px + (anchor === 'end' ? -1 : 1) * font * 0.6, y: py - font * 0.4, class: 'label peak', 'font-size': font, 'text-anchor': anchor },
      `peak ${count(peak.customers_out)} at ${hhmm(peak.time)}`));
  }
  const legend = el('text', { x: pad.l, y: font, class: 'legend', 'font-size': font * 0.9 });
  legend.append(el('tspan', { class: 'key customers' }, '■ '), 'customers out   ',
    el('tspan', { class: 'key critical' }, '■ '), 'critical customers out');
  svg.append(legend);
  box.replaceChildren(svg);
}
