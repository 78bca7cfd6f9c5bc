// The dashboard shell: sign-in, navigation by the URL's fragment (#/overview, #/sessions/{id}, …)
// and the page shown. A page module exports render(root, context, param) and may return a
// function that stops what it started (event streams, timers) when another page is shown.
import { ApiError, auth, call, get, whenUnauthenticated } from './api.js';
import { h } from './dom.js';
import * as overview from './overview.js';
import * as activity from './activity.js';
import * as session from './session.js';
import * as settings from './settings.js';
import * as audit from './audit.js';

const PAGES = {
  overview: { module: overview, title: 'Overview' },
  activity: { module: activity, title: 'Recent activity' },
  sessions: { module: session, title: 'Session' },
  settings: { module: settings, title: 'Settings', owner: true },
  audit: { module: audit, title: 'Audit', owner: true },
};

const $ = (id) => document.getElementById(id);
let me = null;
let stopPage = () => {};

function showSignIn(message) {
  stopPage();
  stopPage = () => {};
  me = null;
  $('nav').hidden = true;
  $('who').hidden = true;
  $('page').replaceChildren();
  $('sign-in').hidden = false;
  $('token-error').textContent = message ?? '';
  $('token').setAttribute('aria-invalid', message ? 'true' : 'false');
  document.title = 'Sign in · Offload';
  $('token').focus();
}

async function signIn(token) {
  const caller = await call('GET', '/v1/me', undefined, token);
  if (caller.role === 'operator') {
    throw new ApiError(403, 'forbidden', 'The dashboard shows one organisation: sign in with an owner or member token, not the operator token.', 'token');
  }
  return caller;
}

function enter(caller) {
  me = caller;
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  for (const item of document.querySelectorAll('[data-owner]')) item.hidden = caller.role !== 'owner';
  $('who').hidden = false;
  $('who-name').textContent = `${caller.user} · ${caller.org} · ${caller.role}`;
  route();
}

function route() {
  if (!me) return;
  const [name, param] = location.hash.replace(/^#\/?/, '').split('/');
  const page = PAGES[name] ?? null;
  if (!page || (name === 'sessions' && !param)) {
    location.replace('#/overview');
    return;
  }
  stopPage();
  stopPage = () => {};
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.page === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${page.title} · Offload`;
  const root = $('page');
  root.replaceChildren();
  const main = $('main');
  if (page.owner && me.role !== 'owner') {
    root.append(h('h1', {}, page.title), h('p', { class: 'notice', 'data-notice': 'owners-only' },
      `Only owners of ${me.org} see this page.`));
  } else {
    const stop = page.module.render(root, { me, org: me.org, owner: me.role === 'owner' }, param ? decodeURIComponent(param) : null);
    if (typeof stop === 'function') stopPage = stop;
  }
  main.focus({ preventScroll: true });
}

whenUnauthenticated(() => {
  auth.forget();
  showSignIn('The server no longer accepts this token (revoked?). Sign in again.');
});

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = $('token').value.trim();
  if (!token) {
    showSignIn('Paste your token.');
    return;
  }
  try {
    const caller = await signIn(token);
    auth.keep(token);
    $('token').value = '';
    $('token-error').textContent = '';
    enter(caller);
  } catch (e) {
    showSignIn(e instanceof ApiError && e.status === 401 ? 'This token is unknown or revoked.' : e.message);
  }
});

$('sign-out').addEventListener('click', () => {
  auth.forget();
  // The next person to sign in starts at their own overview, not at this one's last page.
  history.replaceState(null, '', location.pathname);
  showSignIn();
});

window.addEventListener('hashchange', route);

(async () => {
  if (!auth.token()) {
    showSignIn();
    return;
  }
  try {
    enter(await get('/v1/me'));
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) showSignIn(e.message);
  }
})();
