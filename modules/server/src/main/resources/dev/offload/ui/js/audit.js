import { ApiError, get, query } from './api.js';
import { h } from './dom.js';
import { currentMonth, duration, instant } from './format.js';

function table(name, caption, columns, rows) {
  if (rows.length === 0) return h('p', { 'data-empty': name }, `No ${caption.toLowerCase()}.`);
  return h('div', { class: 'scroll' }, h('table', { 'data-table': name },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map(([title]) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map(([, value]) => h('td', {}, value(row))))))));
}

function figure(name, value, text = String(value)) {
  return h('dd', { 'data-figure': name, 'data-value': value }, text);
}

function report(r) {
  return h('section', { class: 'card wide', 'aria-labelledby': 'audit-result' },
    h('h2', { id: 'audit-result' }, `Audit of ${r.month}: `,
      h('span', { class: r.ok ? 'badge ok' : 'badge bad', 'data-figure': 'ok', 'data-value': String(r.ok) }, r.ok ? 'ok' : 'problems found')),
    h('dl', { class: 'pairs wide' },
      h('dt', {}, 'Journal read up to'), h('dd', {}, instant(r.readUpTo)),
      h('dt', {}, 'Sessions'), figure('sessions', r.sessions),
      h('dt', {}, 'Events'), figure('events', r.events),
      h('dt', {}, 'Ledger'), figure('ledger-seconds', r.ledgerSeconds, duration(r.ledgerSeconds)),
      h('dt', {}, 'Replayed'), figure('replayed-seconds', r.replayedSeconds, duration(r.replayedSeconds)),
      h('dt', {}, 'Ledger charge'), figure('ledger-micros', r.ledgerMicros, `$${(r.ledgerMicros / 1e6).toFixed(6)}`),
      h('dt', {}, 'Replayed charge'), figure('replayed-micros', r.replayedMicros, `$${(r.replayedMicros / 1e6).toFixed(6)}`),
      h('dt', {}, 'Digest'), h('dd', {}, h('code', { class: 'digest', 'data-figure': 'digest' }, r.digest))),
    h('h3', {}, 'Discrepancies'),
    table('discrepancies', 'Discrepancies', [
      ['Session', (d) => h('a', { href: `#/sessions/${encodeURIComponent(d.session)}` }, d.session)],
      ['Ledger', (d) => duration(d.ledgerSeconds)], ['Replayed', (d) => duration(d.replayedSeconds)], ['Why', (d) => d.reason]],
    r.discrepancies),
    h('h3', {}, 'Chain breaks'),
    table('chain-breaks', 'Chain breaks', [
      ['Session', (b) => h('a', { href: `#/sessions/${encodeURIComponent(b.session)}` }, b.session)],
      ['Event', (b) => String(b.sequenceNr)], ['Why', (b) => b.reason]],
    r.chainBreaks));
}

export function render(root, { org }) {
  const month = h('input', { id: 'audit-month', name: 'month', type: 'month', value: currentMonth(), required: true,
    'aria-describedby': 'audit-month-error' });
  const error = h('p', { class: 'field-error', id: 'audit-month-error', 'aria-live': 'polite' });
  const status = h('p', { role: 'status', class: 'muted' });
  const run = h('button', { type: 'submit' }, 'Run the audit');
  const result = h('div');
  const form = h('form', { class: 'inline', novalidate: true, 'aria-label': 'Audit' },
    h('div', { class: 'field' }, h('label', { for: 'audit-month' }, 'Month (UTC)'), month, error), run);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    month.removeAttribute('aria-invalid');
    status.classList.remove('error');
    status.textContent = 'Replaying the journal…';
    run.disabled = true;
    try {
      const r = await get(`/v1/orgs/${encodeURIComponent(org)}/audit${query({ month: month.value })}`);
      result.replaceChildren(report(r));
      status.textContent = '';
    } catch (e) {
      if (e instanceof ApiError && e.field === 'month') {
        error.textContent = e.message;
        month.setAttribute('aria-invalid', 'true');
        status.textContent = '';
      } else {
        status.textContent = e.message;
        status.classList.add('error');
      }
    } finally {
      run.disabled = false;
    }
  });

  root.append(h('h1', {}, `Billing audit of ${org}`),
    h('p', {}, 'Replays every session event of the month from the journal, checks each session\'s hash chain and compares the charges with the ledger.'),
    form, status, result);
}
