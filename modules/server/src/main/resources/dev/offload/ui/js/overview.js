import { get } from './api.js';
import { h } from './dom.js';
import { bars, columns, gauge, meter } from './charts.js';
import { dollars, duration, instant, shortId } from './format.js';
import { badge, keepCurrent } from './live.js';

// Browsers open at most six HTTP/1.1 connections to one server, and each event stream holds
// one; following more would starve the page's other requests.
const LIVE_STREAMS = 4;

function figure(name, value, text) {
  return h('span', { class: 'figure', 'data-figure': name, 'data-value': value }, text);
}

function card(title, ...body) {
  const id = `card-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...body);
}

function committed(usage) {
  const c = usage.committed;
  if (!usage.metered) {
    return card('Committed usage', h('p', { 'data-figure': 'not-metered' },
      'Not metered: the organisation has no grant, so its usage is not limited.'));
  }
  return card('Committed usage',
    gauge(c.usedSeconds, c.grantedSeconds, `${duration(c.usedSeconds)} used of ${duration(c.grantedSeconds)}`),
    h('dl', { class: 'pairs' },
      h('dt', {}, 'Used'), h('dd', {}, figure('committed-used', c.usedSeconds, duration(c.usedSeconds))),
      h('dt', {}, 'Remaining'), h('dd', {}, figure('committed-remaining', c.remainingSeconds, duration(c.remainingSeconds))),
      h('dt', {}, 'Granted'), h('dd', {}, figure('committed-granted', c.grantedSeconds, duration(c.grantedSeconds)))));
}

function onDemand(usage, settings) {
  const o = usage.onDemand;
  const limit = settings.monthlyLimitCents;
  return card('On-demand',
    h('p', {}, o.enabled ? 'On: usage beyond the committed time is charged by the hour.' : 'Off: sessions stop when the committed time is used up.'),
    limit === null ? null : meter(o.cents, limit, `${dollars(o.cents)} of ${dollars(limit)} spent`),
    h('dl', { class: 'pairs' },
      h('dt', {}, 'Spent this month'), h('dd', {}, figure('on-demand-cents', o.cents, dollars(o.cents))),
      h('dt', {}, 'Monthly limit'), h('dd', {}, figure('monthly-limit-cents', limit ?? '', limit === null ? 'no limit' : dollars(limit))),
      h('dt', {}, 'On-demand time'), h('dd', {}, figure('on-demand-seconds', o.seconds, duration(o.seconds)))));
}

function mine(usage) {
  const m = usage.mySessions;
  const recent = [...m.recent].reverse();
  return card('My sessions',
    h('p', {}, 'Billable time this month: ', figure('my-total', m.totalSeconds, duration(m.totalSeconds))),
    recent.length === 0
      ? h('p', { class: 'muted' }, 'You started no session this month.')
      : [columns(recent.map((r) => ({
        value: r.billableSeconds, href: `#/sessions/${encodeURIComponent(r.id)}`,
        title: `${shortId(r.id)}, ${instant(r.startedAt)}: ${duration(r.billableSeconds)}`,
      })), `Billable time of your ${recent.length} most recent sessions, oldest first`),
      h('details', {}, h('summary', {}, 'As a table'),
        h('table', { 'data-table': 'my-recent' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Session'), h('th', { scope: 'col' }, 'Started'), h('th', { scope: 'col' }, 'Billable'))),
          h('tbody', {}, m.recent.map((r) => h('tr', {},
            h('td', {}, h('a', { href: `#/sessions/${encodeURIComponent(r.id)}` }, shortId(r.id))),
            h('td', {}, instant(r.startedAt)),
            h('td', { 'data-value': r.billableSeconds }, duration(r.billableSeconds)))))))]);
}

function images(usage, owner) {
  return card('Top images',
    usage.topImages.length === 0
      ? h('p', { class: 'muted' }, 'No containers ran this month.')
      : bars(usage.topImages.map((i) => ({ label: i.image, value: i.runs, text: i.runs === 1 ? '1 run' : `${i.runs} runs` })),
        `Images started most often this month${owner ? ' in the organisation' : ' in your sessions'}`));
}

function month(usage, owner) {
  const s = usage.sessions;
  return card(owner ? 'Organisation this month' : 'This month',
    h('dl', { class: 'pairs' },
      h('dt', {}, 'Sessions'), h('dd', {}, figure('sessions-count', s.count, String(s.count))),
      h('dt', {}, 'Billable time'), h('dd', {}, figure('sessions-billable', s.billableSeconds, duration(s.billableSeconds)))));
}

function active(usage, owner, stops) {
  const sessions = usage.activeSessions;
  const body = sessions.length === 0
    ? h('p', { class: 'muted', 'data-empty': 'active' }, 'No live sessions.')
    : h('ul', { class: 'live-list' }, sessions.map((session, i) => {
      const elements = { badge: badge(session.state), due: h('span', { class: 'due' }) };
      const row = h('li', { 'data-session': session.id },
        h('a', { href: `#/sessions/${encodeURIComponent(session.id)}` }, shortId(session.id)),
        owner ? h('span', { class: 'muted' }, session.user) : null,
        elements.badge, elements.due,
        h('span', { class: 'muted' }, session.runner ? session.runner.id : session.runnerClass));
      if (i < LIVE_STREAMS) stops.push(keepCurrent(session, elements));
      else elements.due.textContent = 'open it to follow it live';
      return row;
    }));
  return h('section', { class: 'card wide', 'aria-labelledby': 'card-active' },
    h('h2', { id: 'card-active' }, 'Live sessions'), body);
}

export function render(root, { org, owner }) {
  const stops = [];
  let left = false;
  const status = h('span', { class: 'muted', role: 'status' }, 'Loading…');
  // Shown again from scratch: new figures, and live sessions started since.
  const refresh = h('button', { type: 'button', class: 'quiet', onclick: () => window.dispatchEvent(new HashChangeEvent('hashchange')) }, 'Refresh');
  root.append(h('h1', {}, `Overview of ${org}`), h('p', { class: 'actions' }, status, refresh));
  Promise.all([get(`/v1/orgs/${encodeURIComponent(org)}/usage`), get(`/v1/orgs/${encodeURIComponent(org)}/settings`)])
    .then(([usage, settings]) => {
      if (left) return;
      status.textContent = `${usage.month} (UTC), as of ${instant(new Date().toISOString())}`;
      root.append(h('div', { class: 'grid', 'data-month': usage.month },
        committed(usage), onDemand(usage, settings), month(usage, owner), mine(usage), images(usage, owner),
        active(usage, owner, stops)));
    })
    .catch((e) => {
      status.textContent = `Could not load the usage: ${e.message}`;
      status.classList.add('error');
    });
  return () => {
    left = true;
    stops.forEach((stop) => stop());
  };
}
