// One way to write each kind of figure, so pages (and the browser tests) agree.

/** Whole seconds as "42 s", "12 min 5 s", "3 h 4 min". */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** A countdown as m:ss (or h:mm:ss), never negative. */
export function countdown(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${Math.floor(s / 60)}:${ss}`;
}

/** Cents as dollars: 1234 → "$12.34". */
export function dollars(cents) {
  return `$${(cents / 100).toFixed(2)}`;
}

/** An ISO instant in the reader's locale, to the second. */
export function instant(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
}

export function shortId(id) {
  return id.slice(0, 8);
}

export const STATE_LABELS = {
  provisioning: 'provisioning', active: 'active', 'grace-period': 'grace period', idle: 'idle', terminated: 'terminated',
};

/** The current UTC month as YYYY-MM, as the API defaults to. */
export function currentMonth() {
  return new Date().toISOString().slice(0, 7);
}
