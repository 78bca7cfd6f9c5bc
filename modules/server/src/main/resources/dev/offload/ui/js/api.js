// The /v1 API as the dashboard uses it. The token lives in sessionStorage (this tab only) and
// travels only in the Authorization header: never in a URL, where logs and history keep it.

const TOKEN = 'offload.token';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field ?? null;
  }
}

export const auth = {
  token: () => sessionStorage.getItem(TOKEN),
  keep: (token) => sessionStorage.setItem(TOKEN, token),
  forget: () => sessionStorage.removeItem(TOKEN),
};

/** Called when the server no longer accepts the token (revoked, or the tab kept an old one). */
let onUnauthenticated = () => {};
export function whenUnauthenticated(callback) {
  onUnauthenticated = callback;
}

async function failure(response) {
  let error = {};
  try {
    error = (await response.json()).error ?? {};
  } catch {
    // A proxy's HTML error page: the status says enough.
  }
  const e = new ApiError(response.status, error.code ?? 'internal', error.message ?? response.statusText, error.field);
  if (response.status === 401) onUnauthenticated(e);
  return e;
}

export async function call(method, path, body, token = auth.token()) {
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

export const get = (path) => call('GET', path);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : '';
}

/**
 * Follows GET /v1/sessions/{id}/events until the session is terminated or the signal aborts.
 * EventSource cannot send an Authorization header, so this reads the text/event-stream from a
 * fetch() body. A stream that breaks (a node restarting) is opened again after a pause; its
 * first event is the session as it is then, so nothing is missed.
 */
export async function follow(id, onEvent, signal) {
  for (;;) {
    let ended = false;
    try {
      ended = await readStream(id, onEvent, signal);
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ApiError && e.status < 500) throw e;
    }
    if (ended || signal.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    if (signal.aborted) return;
  }
}

async function readStream(id, onEvent, signal) {
  const response = await fetch(`/v1/sessions/${encodeURIComponent(id)}/events`, {
    headers: { Authorization: `Bearer ${auth.token()}`, Accept: 'text/event-stream' }, cache: 'no-store', signal,
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = null;
  let data = [];
  let terminated = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return terminated;
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      let line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        // Heartbeats have neither an event name nor data.
        if (event && data.length) {
          const payload = JSON.parse(data.join('\n'));
          if (event === 'state' && payload.state === 'terminated') terminated = true;
          onEvent(event, payload);
        }
        event = null;
        data = [];
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let text = colon < 0 ? '' : line.slice(colon + 1);
      if (text.startsWith(' ')) text = text.slice(1);
      if (field === 'event') event = text;
      else if (field === 'data') data.push(text);
    }
  }
}
