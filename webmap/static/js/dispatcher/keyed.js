/*
 * Lists kept in place: one element per item, by key, for as long as the item
 * is listed. A card whose item did not change (same signature) is not
 * touched; one that changed is patched in place (morph: the same elements
 * get the new attributes and text), so a click never lands on a node that
 * was just replaced and a dispatcher's place in the list stays put.
 */
import { h } from '../dom.js';

const lists = new WeakMap();  // container -> Map(key -> {el, sig})

/** Makes `old` look like `fresh` (same tag), keeping `old`'s elements where the shape allows. */
export function morph(old, fresh) {
  for (const { name } of Array.from(old.attributes)) if (!fresh.hasAttribute(name)) old.removeAttribute(name);
  for (const { name, value } of Array.from(fresh.attributes)) {
    if (old.getAttribute(name) !== value) old.setAttribute(name, value);
  }
  if (old instanceof HTMLInputElement) old.checked = fresh.checked;
  const a = Array.from(old.childNodes);
  const b = Array.from(fresh.childNodes);
  for (let i = 0; i < b.length; i += 1) {
    const x = a[i];
    const y = b[i];
    if (!x) old.append(y);
    else if (x.nodeType === Node.TEXT_NODE && y.nodeType === Node.TEXT_NODE) {
      if (x.data !== y.data) x.data = y.data;
    } else if (x.nodeType === Node.ELEMENT_NODE && x.nodeName === y.nodeName) morph(x, y);
    else x.replaceWith(y);
  }
  for (let i = b.length; i < a.length; i += 1) a[i].remove();
}

/**
 * Shows `items` in `container`, in order: key(item) names its element,
 * sig(item) says what it shows (a string), build(item) makes its element.
 * Returns what it did: {created, patched, removed, moved} (all 0: nothing).
 */
export function updateList(container, items, { key, sig, build, empty }) {
  let known = lists.get(container);
  if (!known) {
    known = new Map();
    lists.set(container, known);
  }
  const did = { created: 0, patched: 0, removed: 0, moved: 0 };
  const wanted = [];
  const seen = new Set();
  for (const item of items) {
    const k = key(item);
    const s = sig(item);
    seen.add(k);
    let entry = known.get(k);
    if (!entry) {
      entry = { el: build(item), sig: s };
      known.set(k, entry);
      did.created += 1;
    } else if (entry.sig !== s) {
      morph(entry.el, build(item));
      entry.sig = s;
      did.patched += 1;
    }
    wanted.push(entry.el);
  }
  for (const [k, entry] of known) {
    if (!seen.has(k)) {
      entry.el.remove();
      known.delete(k);
      did.removed += 1;
    }
  }
  if (!wanted.length) wanted.push(emptyNote(container, empty));
  // Move only what is out of place (insertBefore of a node already there is a no-op we skip).
  let at = container.firstChild;
  for (const el of wanted) {
    if (at === el) {
      at = at.nextSibling;
      continue;
    }
    if (el.isConnected && el.dataset.empty === undefined) did.moved += 1;
    container.insertBefore(el, at);
  }
  while (at) {
    const next = at.nextSibling;
    at.remove();
    at = next;
  }
  return did;
}

const notes = new WeakMap();

function emptyNote(container, text) {
  let note = notes.get(container);
  if (!note) {
    note = h('div', { class: 'empty', 'data-empty': '' });
    notes.set(container, note);
  }
  if (note.textContent !== text) note.textContent = text;
  return note;
}
