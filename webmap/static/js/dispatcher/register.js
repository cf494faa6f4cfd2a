/*
 * The critical-customer register's entry of one customer, edited in the
 * page's dialog: the reason (life_support, hospital, water, telecom, ...),
 * the emergency plan, the contacts to call (rows of name, phone, e-mail,
 * relation) and a note. GET /api/critical gives the entry as it stands;
 * Save sends the whole form with PUT /api/critical/<customer> (a
 * critical_customer event, so the outages' critical counts, the jobs'
 * priority and the calls owed follow at once); "Take off the register"
 * sends critical: null. The engine checks the entry: its refusal (422,
 * naming the field: "contacts[0] needs a phone or an email") stays in the
 * dialog.
 *
 * Who may: the page is for dispatchers and engineers, and both keep the
 * register (critical_customer in oms/authority.py), so every user of the
 * page is offered the dialog; the server refuses anyone else.
 */
import { call } from '../api.js';
import { $$, h } from '../dom.js';
import { openDialog } from './dialog.js';
import { human } from './format.js';
import { hooks } from './state.js';
import { toast } from './toast.js';

/** The reasons offered (the register takes any other word too). */
const REASONS = ['life_support', 'hospital', 'water', 'telecom', 'care_home', 'medical_equipment'];
const CONTACT_FIELDS = [
  ['name', 'Name', 'text'], ['phone', 'Phone', 'tel'], ['email', 'E-mail', 'email'], ['relation', 'Relation', 'text'],
];
const listeners = [];

/** Calls `fn(customer)` after an entry was saved (the lists that show the register read it again). */
export function onRegisterSaved(fn) {
  listeners.push(fn);
}

function contactRow(c = {}) {
  const row = h('tr', { class: 'reg-contact' },
    CONTACT_FIELDS.map(([key, label, type]) => h('td', {},
      h('input', { type, 'data-field': key, 'aria-label': label, placeholder: label, value: c[key] ?? '' }))),
    h('td', {}, h('button', {
      type: 'button', class: 'btn icon', title: 'Remove this contact', 'aria-label': 'Remove this contact',
      onclick: () => row.remove(),
    }, '×')));
  return row;
}

/** The contacts typed in, in order; a row left empty is no contact, an empty field null. */
function contactsOf(form) {
  return $$('tr.reg-contact', form).map((row) => Object.fromEntries(
    $$('input', row).map((i) => [i.dataset.field, i.value.trim() || null])))
    .filter((c) => Object.values(c).some(Boolean));
}

/** A phone number as a tel: link (its spaces and brackets left out of the link). */
export function telLink(phone) {
  return h('a', { href: `tel:${String(phone).replace(/[\s().-]/g, '')}`, class: 'tel' }, phone);
}

/** One person to call: the name (and relation), then a tel: and a mailto: link where known. */
export function contactLine(c) {
  return [
    h('b', {}, c.name || ''), c.relation ? h('span', { class: 'muted' }, ` (${c.relation})`) : null,
    c.phone ? [' ', telLink(c.phone)] : null,
    c.email ? [' ', h('a', { href: `mailto:${c.email}`, class: 'mail' }, c.email)] : null,
  ];
}

const text = (form, id) => form.querySelector(`#${id}`).value.trim() || null;

async function save(customer, body, said) {
  await call('PUT', `/api/critical/${encodeURIComponent(customer)}`, body);
  toast(said, 'ok');
  hooks.registerSaves = (hooks.registerSaves || 0) + 1;
  for (const fn of listeners) fn(customer);
}

/**
 * Opens the register dialog of customer `id` (`name` for its title); its
 * current entry is read first (none: a new entry).
 */
export async function registerDialog(id, name = null) {
  let entry;
  try {
    entry = (await call('GET', '/api/critical')).find((e) => e.customer === id) ?? null;
  } catch (e) {
    toast(`Register: ${e.message}`, 'error');
    return;
  }
  const rows = h('tbody', {}, (entry?.contacts ?? []).map((c) => contactRow(c)));
  if (!rows.children.length) rows.append(contactRow());
  const body = [
    h('p', {}, h('b', {}, name || entry?.name || id), ' ', h('span', { class: 'muted' }, id),
      entry ? [' · on the register', entry.updated_by ? ` (last edited by ${entry.updated_by})` : ''] : ' · not on the register'),
    h('label', { for: 'reg-reason' }, 'Reason'),
    h('input', {
      type: 'text', id: 'reg-reason', list: 'reg-reasons', required: true, value: entry?.critical ?? '',
      placeholder: 'life_support, hospital, water…',
    }),
    h('datalist', { id: 'reg-reasons' }, REASONS.map((r) => h('option', { value: r }, human(r)))),
    h('label', { for: 'reg-plan' }, 'Emergency plan'),
    h('textarea', { id: 'reg-plan', rows: 3, placeholder: 'e.g. oxygen concentrator, 4 h of battery; daughter brings a generator' },
      entry?.emergency_plan ?? ''),
    h('label', {}, 'Contacts to call, in order'),
    h('table', { class: 'reg-contacts' }, rows),
    h('button', { type: 'button', class: 'btn', id: 'reg-add-contact', onclick: () => rows.append(contactRow()) }, 'Add contact'),
    h('label', { for: 'reg-note' }, 'Note'),
    h('input', { type: 'text', id: 'reg-note', value: entry?.note ?? '' }),
    entry ? h('p', { class: 'reg-off' }, h('button', {
      type: 'submit', class: 'btn danger', id: 'reg-off', formnovalidate: true,
      title: 'The customer is no longer critical (its contacts are kept)',
    }, 'Take off the register')) : null,
  ];
  openDialog({
    title: entry ? `Register entry of ${id}` : `Put ${id} on the register`,
    body,
    ok: 'Save',
    submit: (form, submitter) => {
      if (submitter?.id === 'reg-off') return save(id, { critical: null }, `${id} taken off the register`);
      const fields = {
        critical: text(form, 'reg-reason'),
        emergency_plan: text(form, 'reg-plan'),
        contacts: contactsOf(form),
        note: text(form, 'reg-note'),
      };
      // A new entry sends what was typed: a field left out keeps what the customer
      // had (the file's emergency plan, the contacts of an earlier entry taken off).
      const body = entry ? fields
        : Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && !(Array.isArray(v) && !v.length)));
      return save(id, body, `${id}: register entry saved`);
    },
  });
}

hooks.registerDialog = registerDialog;
