import { get, query } from './api.js';
import { h } from './dom.js';
import { duration, instant, shortId } from './format.js';

const PAGE_SIZES = [5, 20, 50, 100];

export function render(root, { org, owner }) {
  // Cursors of the pages seen so far, so "Newer" can go back without the API paging backwards.
  let cursors = [null];
  let next = null;
  let user = '';
  let pageSize = 20;

  const status = h('p', { role: 'status', class: 'muted' });
  const body = h('tbody');
  const newer = h('button', { type: 'button', class: 'quiet', disabled: true }, '← Newer');
  const older = h('button', { type: 'button', class: 'quiet', disabled: true }, 'Older →');
  const table = h('div', { class: 'scroll' }, h('table', { 'data-table': 'activity' },
    h('caption', {}, owner ? 'Sessions of the organisation, newest first' : 'Your sessions, newest first'),
    h('thead', {}, h('tr', {}, ['Session', 'User', 'Started', 'Duration', 'Billable', 'Containers']
      .map((c) => h('th', { scope: 'col' }, c)))),
    body));

  async function load() {
    status.textContent = 'Loading…';
    status.classList.remove('error');
    try {
      const page = await get(`/v1/orgs/${encodeURIComponent(org)}/activity${query({
        limit: pageSize, cursor: cursors[cursors.length - 1], user,
      })}`);
      next = page.nextCursor;
      body.replaceChildren(...page.sessions.map((r) => h('tr', { 'data-session': r.id },
        h('td', {}, h('a', { href: `#/sessions/${encodeURIComponent(r.id)}` }, shortId(r.id))),
        h('td', {}, r.user),
        h('td', {}, instant(r.startedAt)),
        h('td', { 'data-value': r.durationSeconds }, duration(r.durationSeconds)),
        h('td', { 'data-value': r.billableSeconds }, duration(r.billableSeconds)),
        h('td', { 'data-value': r.containers }, String(r.containers)))));
      if (page.sessions.length === 0) body.append(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No sessions.')));
      status.textContent = `Page ${cursors.length}${user ? `, user ${user}` : ''}`;
      newer.disabled = cursors.length === 1;
      older.disabled = next === null;
    } catch (e) {
      status.textContent = e.message;
      status.classList.add('error');
    }
  }

  newer.addEventListener('click', () => {
    cursors.pop();
    load();
  });
  older.addEventListener('click', () => {
    cursors.push(next);
    load();
  });

  const size = h('select', { id: 'activity-size', name: 'size', onchange: () => {
    pageSize = Number(size.value);
    cursors = [null];
    load();
  } }, PAGE_SIZES.map((n) => h('option', { value: n, selected: n === pageSize }, String(n))));

  root.append(h('h1', {}, 'Recent activity'));
  if (owner) {
    const input = h('input', { id: 'activity-user', name: 'user', type: 'text', autocomplete: 'off', spellcheck: 'false' });
    root.append(h('form', { class: 'inline', 'aria-label': 'Filter', onsubmit: (event) => {
      event.preventDefault();
      user = input.value.trim();
      cursors = [null];
      load();
    } },
    h('div', { class: 'field' }, h('label', { for: 'activity-user' }, 'User (empty: everyone)'), input),
    h('button', { type: 'submit' }, 'Filter')));
  }
  root.append(status, table, h('div', { class: 'pager' }, newer, older,
    h('label', { for: 'activity-size' }, 'Sessions per page'), size));
  load();
}
