// A session's state badge and its idle or wipe countdown, kept current from its event stream.
import { follow } from './api.js';
import { h } from './dom.js';
import { countdown, STATE_LABELS } from './format.js';

export function badge(state) {
  return paintBadge(h('span'), state);
}

function paintBadge(el, state) {
  el.className = `badge ${state}`;
  el.dataset.state = state;
  el.textContent = STATE_LABELS[state] ?? state;
  return el;
}

/** What the session is waiting for, as text; empty when nothing is due. */
export function due(session, now = Date.now()) {
  if (session.state === 'grace-period' && session.idleAt) return `idle in ${countdown((Date.parse(session.idleAt) - now) / 1000)}`;
  if (session.state === 'idle' && session.expiresAt) return `wiped in ${countdown((Date.parse(session.expiresAt) - now) / 1000)}`;
  if (session.state === 'terminated') return session.terminationReason ? `ended: ${session.terminationReason}` : 'ended';
  if (session.state === 'provisioning') return 'waiting for a runner';
  return 'in use';
}

/**
 * Keeps {badge, due} elements of one session current: the state from the event stream, the
 * countdown every second. onChange(session) runs after each state event. Returns a stop function.
 */
export function keepCurrent(initial, elements, onChange = () => {}) {
  let session = initial;
  const controller = new AbortController();
  const paint = () => {
    paintBadge(elements.badge, session.state);
    elements.due.textContent = due(session);
    elements.due.classList.remove('soon');
  };
  paint();
  const timer = setInterval(() => {
    elements.due.textContent = due(session);
  }, 1000);
  follow(session.id, (event, data) => {
    if (event === 'state') {
      session = data;
      paint();
      onChange(session);
    } else if (event === 'warning') {
      // The server's notice that the deadline is near (60 s, or half the period, before it).
      elements.due.classList.add('soon');
    }
  }, controller.signal).catch((e) => {
    elements.due.textContent = `no live updates: ${e.message}`;
  }).finally(() => clearInterval(timer));
  return () => {
    controller.abort();
    clearInterval(timer);
  };
}
