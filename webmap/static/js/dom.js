/*
 * The pages' one DOM helper: h(tag, attrs, ...children) builds an element.
 *
 * Safe by construction: text becomes text nodes and attributes go through
 * setAttribute, so data from the server is never parsed as HTML; there is
 * no way to pass markup in. Attributes:
 *   class      a string, or an array of strings (false, null and '' are left out)
 *   style      an object of CSS properties ({ borderColor: c, '--x': 1 })
 *   on<event>  a function, added as an event listener (anything else throws)
 *   any other  set as an attribute; true: present and empty; false, null and
 *              undefined: left out
 * Children: nodes, strings, numbers and (nested) arrays of them; null,
 * undefined, true and false are skipped, so `cond ? h(...) : null` and
 * `cond && 'text'` work.
 */

export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) {
      if (typeof value !== 'function') throw new TypeError(`h(): ${name} must be a function`);
      node.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      node.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (name === 'style') {
      setStyle(node, value);
    } else {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  node.append(...nodes(children));
  return node;
}

/** Replaces the children of `node` (same children as h() takes). */
export function fill(node, ...children) {
  node.replaceChildren(...nodes(children));
  return node;
}

/** The element with this id. */
export const byId = (id) => document.getElementById(id);

/** The first element matching a CSS selector (in `root`, else the document). */
export const $ = (selector, root = document) => root.querySelector(selector);

/** Every element matching a CSS selector, as an array. */
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/**
 * A string made safe to be read as HTML, for the few library options that
 * only take HTML (Leaflet's attribution). Pages build their own DOM with h().
 */
export function htmlText(value) {
  const span = document.createElement('span');
  span.textContent = value ?? '';
  return span.innerHTML;
}

function setStyle(node, style) {
  if (typeof style !== 'object') throw new TypeError('h(): style must be an object');
  for (const [prop, value] of Object.entries(style)) {
    if (value === null || value === undefined || value === false) continue;
    if (prop.includes('-')) node.style.setProperty(prop, String(value));
    else node.style[prop] = String(value);
  }
}

function nodes(children) {
  const out = [];
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false || c === true) continue;
    out.push(c instanceof Node ? c : String(c));
  }
  return out;
}

/*
 * A click is a press and a release on the same element. A page that redraws
 * between the two (a change on the live stream, an answer coming back)
 * replaces the button pressed, and the browser drops the click: in a storm,
 * with changes every second, a dispatcher's press would be lost now and
 * then. So redraws asked for while a pointer is down wait for the release
 * (and the click it makes), never longer than PRESS_MAX_MS (a drag on the
 * map, a press held).
 */
const PRESS_MAX_MS = 1500;
const held = new Set();
let presses = 0;  // counted, so that the end of one press never ends the next
let pressed = 0;  // the timer that gives up waiting, while a pointer is down

function flush() {
  const waiting = [...held];
  held.clear();
  for (const fn of waiting) {
    try {
      fn();
    } catch (e) {
      setTimeout(() => { throw e; });  // reported, and the other redraws still run
    }
  }
}

/** Press `n` ended: what waited runs after the click it made; what the click asks runs at once. */
function release(n) {
  if (n !== presses || !pressed) return;
  clearTimeout(pressed);
  pressed = 0;
  if (held.size) setTimeout(flush, 0);
}

addEventListener('pointerdown', () => {
  clearTimeout(pressed);
  const n = ++presses;
  pressed = setTimeout(() => release(n), PRESS_MAX_MS);
}, true);
addEventListener('click', () => release(presses), true);
// Released with no click (off the element pressed). A mouse's click comes after pointerup in
// the same task, so wait one; a finger's tap comes as a task of its own, so wait longer (a
// redraw before it would move what the tap lands on). The browser may run the next press
// before the wait ends: hence `n`.
const TAP_WAIT_MS = 400;
addEventListener('pointerup', (e) => {
  const n = presses;
  setTimeout(() => release(n), e.pointerType === 'mouse' ? 0 : TAP_WAIT_MS);
}, true);
addEventListener('pointercancel', () => release(presses), true);  // a scroll, not a tap
addEventListener('blur', (e) => e.target === window && release(presses));  // the window, not a button

/** Runs `fn` now, or once the pointer pressed is released (each `fn` once). */
export function afterPress(fn) {
  if (pressed) held.add(fn);
  else fn();
}
