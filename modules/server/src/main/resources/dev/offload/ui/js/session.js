import { call, get } from './api.js';
import { h } from './dom.js';
import { legend, stretchKind, timeline } from './charts.js';
import { duration, instant, shortId } from './format.js';
import { badge, keepCurrent } from './live.js';

function pair(term, value, name) {
  return [h('dt', {}, term), h('dd', name ? { 'data-field': name } : {}, value)];
}

/** Micro-dollars per second from the usage view's cents per hour, as the ledger charges. */
function charge(session, rates) {
  const rate = rates.find((r) => r.runnerClass === session.runnerClass);
  if (!rate) return null;
  const dollars = (session.billableSeconds * rate.centsPerHour) / 3600 / 100;
  return `≈ $${dollars.toFixed(dollars < 1 ? 4 : 2)} at $${(rate.centsPerHour / 100).toFixed(2)} per hour (${session.runnerClass})`;
}

function details(session) {
  const labels = Object.entries(session.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
  return h('dl', { class: 'pairs wide' },
    pair('User', session.user, 'user'),
    pair('Runner', session.runner ? session.runner.id : 'none yet', 'runner'),
    pair('Runner class', session.runnerClass),
    pair('Idle timeout', duration(session.idleTimeoutSeconds)),
    pair('Containers', `${session.runningContainers} running, ${session.containersStarted} started`, 'containers'),
    pair('Created', instant(session.createdAt)),
    pair('Active since', instant(session.activatedAt)),
    session.terminatedAt ? pair('Ended', `${instant(session.terminatedAt)} (${session.terminationReason})`, 'ended') : null,
    labels ? pair('Labels', labels) : null);
}

function ledger(session, rates) {
  const stretches = session.stretches ?? [];
  return h('section', { class: 'card wide', 'aria-labelledby': 'charge-title' },
    h('h2', { id: 'charge-title' }, 'Timeline and charge'),
    h('p', {}, 'Billable: ', h('strong', { 'data-figure': 'billable', 'data-value': session.billableSeconds }, duration(session.billableSeconds)),
      ' ', h('span', { class: 'muted' }, charge(session, rates) ?? '')),
    stretches.length === 0 ? h('p', { class: 'muted' }, 'Nothing yet: the session is waiting for a runner.')
      : [timeline(stretches, `Timeline of ${stretches.length} stretches`), legend(),
        h('div', { class: 'scroll' }, h('table', { 'data-table': 'stretches' },
          h('caption', {}, 'Every stretch of the session and whether it is charged'),
          h('thead', {}, h('tr', {}, ['What', 'From', 'To', 'Length', 'Billed'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, stretches.map((x) => h('tr', { 'data-kind': x.kind },
            h('td', {}, stretchKind(x)[1]),
            h('td', {}, instant(x.from)), h('td', {}, instant(x.to)),
            h('td', {}, duration((Date.parse(x.to) - Date.parse(x.from)) / 1000)),
            h('td', {}, x.billed ? 'yes' : 'no', x.why ? h('span', { class: 'muted' }, ` (${x.why})`) : null))))))]);
}

export function render(root, context, id) {
  let stop = () => {};
  let left = false;
  const status = h('p', { role: 'status', class: 'muted' }, 'Loading…');
  root.append(h('h1', {}, `Session ${shortId(id)}`), status);

  Promise.all([get(`/v1/sessions/${encodeURIComponent(id)}`),
    get(`/v1/orgs/${encodeURIComponent(context.org)}/usage`).then((u) => u.rates, () => [])])
    .then(([initial, rates]) => {
      if (left) return;
      status.textContent = '';
      const elements = { badge: badge(initial.state), due: h('span', { class: 'due', 'data-due': '' }) };
      const info = h('div');
      const stopButton = h('button', { type: 'button', class: 'danger', 'data-action': 'stop' }, 'Stop session');
      const stopStatus = h('span', { role: 'status', class: 'muted' });
      const paint = (session) => {
        info.replaceChildren(h('section', { class: 'card wide', 'aria-label': 'Details' }, details(session)), ledger(session, rates));
        stopButton.disabled = session.state === 'terminated';
      };
      stopButton.addEventListener('click', async () => {
        stopButton.disabled = true;
        stopStatus.textContent = 'Stopping…';
        try {
          const ended = await call('DELETE', `/v1/sessions/${encodeURIComponent(id)}`);
          stopStatus.textContent = 'Stopped; its runner is being wiped.';
          paint(ended);
        } catch (e) {
          stopStatus.textContent = `Not stopped: ${e.message}`;
          stopButton.disabled = false;
        }
      });
      root.append(h('p', { class: 'state-line' }, elements.badge, ' ', elements.due),
        h('p', {}, stopButton, ' ', stopStatus), info);
      paint(initial);
      stop = keepCurrent(initial, elements, paint);
    })
    .catch((e) => {
      status.textContent = e.status === 404 ? `No session ${id} that you may see.` : e.message;
      status.classList.add('error');
    });
  return () => {
    left = true;
    stop();
  };
}
