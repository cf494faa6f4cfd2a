/*
 * Labels that would overlap, laid out so each can be read.
 *
 * Crews at one depot (or one job) share a position: their labels would be
 * drawn on top of each other. stackLabels() finds the labels whose boxes
 * overlap on screen, and stacks each such group in a column beside its
 * anchor (more columns when it is tall), every label tied to its own
 * position by a leader line. Groups that still overlap after stacking are
 * merged and stacked again. Pure: screen boxes in, offsets out.
 */

const GAP = 3;       // px between stacked labels
const OFFSET = 14;   // px from the anchor to the column
const PER_COLUMN = 8;

const overlap = (a, b) =>
  a.x0 < b.x1 + GAP && b.x0 < a.x1 + GAP && a.y0 < b.y1 + GAP && b.y0 < a.y1 + GAP;

/** Union-find roots of the items whose boxes overlap (boxes: one per group index). */
function merge(boxes, groupOf) {
  const root = boxes.map((_, i) => i);
  const find = (i) => (root[i] === i ? i : (root[i] = find(root[i])));
  let merged = false;
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      if (find(i) !== find(j) && overlap(boxes[i], boxes[j])) {
        root[find(j)] = find(i);
        merged = true;
      }
    }
  }
  return { merged, groupOf: groupOf.map((g) => find(g)) };
}

/** Offsets and the box of one group, stacked in columns to the right of its anchor. */
function stack(members) {
  const ax = members.reduce((s, m) => s + m.x, 0) / members.length;
  const ay = members.reduce((s, m) => s + m.y, 0) / members.length;
  const rows = Math.min(members.length, PER_COLUMN);
  const pitch = Math.max(...members.map((m) => m.h)) + GAP;
  const width = Math.max(...members.map((m) => m.w)) + GAP * 2;
  const out = new Map();
  members.forEach((m, k) => {
    const col = Math.floor(k / PER_COLUMN);
    const row = k % PER_COLUMN;
    const cx = ax + OFFSET + col * width + m.w / 2;
    const cy = ay + (row - (rows - 1) / 2) * pitch;
    out.set(m.id, { dx: cx - m.x, dy: cy - m.y, leader: true });
  });
  const cols = Math.ceil(members.length / PER_COLUMN);
  const box = {
    x0: Math.min(ax, ...members.map((m) => m.x)) - 4,
    x1: ax + OFFSET + cols * width,
    y0: ay - (rows * pitch) / 2,
    y1: ay + (rows * pitch) / 2,
  };
  return { out, box };
}

/**
 * items: [{id, x, y, w, h}] (screen px; a label is centred on x, y).
 * Returns Map id -> {dx, dy, leader}: where to move each label's centre
 * ({0, 0, false} for a label left where it is).
 */
export function stackLabels(items) {
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let boxes = sorted.map((m) => ({ x0: m.x - m.w / 2, x1: m.x + m.w / 2, y0: m.y - m.h / 2, y1: m.y + m.h / 2 }));
  let groupOf = sorted.map((_, i) => i);
  let result = new Map();
  for (let round = 0; round < 6; round++) {
    const step = merge(boxes, groupOf);
    groupOf = step.groupOf;
    if (round > 0 && !step.merged) break;
    const groups = new Map();
    sorted.forEach((m, i) => {
      if (!groups.has(groupOf[i])) groups.set(groupOf[i], []);
      groups.get(groupOf[i]).push(m);
    });
    result = new Map();
    const index = new Map();
    boxes = [];
    for (const [, members] of groups) {
      const { out, box } = members.length > 1
        ? stack(members)
        : { out: new Map([[members[0].id, { dx: 0, dy: 0, leader: false }]]), box: null };
      const m0 = members[0];
      boxes.push(box || { x0: m0.x - m0.w / 2, x1: m0.x + m0.w / 2, y0: m0.y - m0.h / 2, y1: m0.y + m0.h / 2 });
      for (const m of members) index.set(m.id, boxes.length - 1);
      for (const [id, off] of out) result.set(id, off);
    }
    groupOf = sorted.map((m) => index.get(m.id));
  }
  return result;
}
