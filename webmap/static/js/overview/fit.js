/*
 * The wall display's panels fit their box, whatever the screen: no text is
 * cut at an edge, no column is left out, no row is half shown.
 *
 * A table's type shrinks (down to FLOOR of its own size) until every column
 * fits the panel's width; then the rows that would pass the panel's bottom
 * are left out, last first, and the panel's last line says how many more
 * there are ("+3 more"). A figure (a KPI) shrinks until it fits its box.
 * Nothing here runs on the desk page, which scrolls instead.
 */
import { $, $$, h } from '../dom.js';

const FLOOR = 0.6;  // of the CSS size: smaller is not read from 5 m
const TALL = 0.85;  // shrunk this far to show every row, before rows are left out
const STEP = 0.94;

/** Bottom of what `panel` shows: its box less its padding and border. */
function innerBottom(panel) {
  const s = getComputedStyle(panel);
  return panel.getBoundingClientRect().bottom - parseFloat(s.paddingBottom) - parseFloat(s.borderBottomWidth);
}

function innerRight(panel) {
  const s = getComputedStyle(panel);
  return panel.getBoundingClientRect().right - parseFloat(s.paddingRight) - parseFloat(s.borderRightWidth);
}

/** Shrinks `node`'s type until `fits(share of its CSS size)` or FLOOR of its size is reached. */
function shrink(node, fits) {
  node.style.fontSize = '';
  const full = parseFloat(getComputedStyle(node).fontSize);
  for (let size = full; !fits(size / full) && size * STEP >= full * FLOOR;) {
    size *= STEP;
    node.style.fontSize = `${size}px`;
  }
}

/**
 * Fits the table of `panel`: its columns to the width, its rows to the height.
 * `more`: rows already left out by the page (beyond what the server lists).
 */
export function fitTable(panel, more = 0) {
  if (!panel.offsetParent) return;  // hidden: fitted when shown
  const table = $('table', panel);
  if (!table) return;
  const bottom = innerBottom(panel);
  const lowest = () => Math.max(
    ...$$(':scope > *', panel).map((e) => e.getBoundingClientRect().bottom));
  const wide = () => table.getBoundingClientRect().right <= innerRight(panel) + 0.5;
  shrink(table, (share) => wide() && (lowest() <= bottom + 0.5 || share <= TALL));
  let note = $('.more', panel);
  const rows = $$('tbody tr', table);
  let cut = 0;
  while (rows.length && lowest() > bottom + 0.5) {
    rows.pop().remove();
    cut += 1;
    if (!note) {
      note = h('p', { class: 'muted more' });
      panel.append(note);
    }
    note.textContent = `+${more + cut} more`;
  }
  panel.dataset.shown = String(rows.length);
}

/** Shrinks each KPI's figure until it fits its box. */
export function fitFigures(kpis) {
  for (const b of $$('.kpi b', kpis)) shrink(b, () => b.scrollWidth <= b.clientWidth);
}
