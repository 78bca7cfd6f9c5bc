import { ApiError, call, get } from './api.js';
import { h } from './dom.js';

// The server checks every value (SettingsRules); the form sends what was typed, so its
// messages, shown next to the field, are the only rules there are.
const FIELDS = [
  { name: 'offloadEnabled', kind: 'switch', label: 'Offload on',
    hint: 'Off refuses new sessions and ends every live session of the organisation.' },
  { name: 'idleTimeoutSeconds', kind: 'number', label: 'Idle timeout (seconds)',
    hint: 'Grace period before an unused session goes idle: 10 s to 1 h.' },
  { name: 'allowUserIdleTimeout', kind: 'switch', label: 'Users may choose their own idle timeout' },
  { name: 'maxSessionsPerUser', kind: 'number', label: 'Live sessions per user', hint: '1 to 100.' },
  { name: 'maxLiveSessions', kind: 'number', label: 'Live sessions in the organisation', hint: '1 to 100,000.' },
  { name: 'onDemandEnabled', kind: 'switch', label: 'On-demand usage',
    hint: 'Charge by the hour once the committed time is used up, instead of stopping sessions.' },
  { name: 'monthlyLimitCents', kind: 'number', label: 'Monthly on-demand limit (cents)',
    hint: 'Empty: no limit.' },
];

/** An integer as typed becomes a number; anything else is sent as text for the server to refuse. */
function valueOf(field, input) {
  if (field.kind === 'switch') return input.checked;
  const text = input.value.trim();
  if (text === '') return null;
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

export function render(root, { org }) {
  const inputs = {};
  const errors = {};
  let current = null;
  const status = h('p', { role: 'status', class: 'muted' }, 'Loading…');
  const form = h('form', { class: 'card narrow settings', novalidate: true, 'aria-label': 'Settings' });

  for (const field of FIELDS) {
    const id = `setting-${field.name}`;
    const describedBy = [field.hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ');
    const input = field.kind === 'switch'
      ? h('input', { id, name: field.name, type: 'checkbox', 'aria-describedby': describedBy })
      : h('input', { id, name: field.name, type: 'text', inputmode: 'numeric', autocomplete: 'off', 'aria-describedby': describedBy });
    inputs[field.name] = input;
    errors[field.name] = h('p', { class: 'field-error', id: `${id}-error`, 'data-error-for': field.name, 'aria-live': 'polite' });
    form.append(h('div', { class: field.kind === 'switch' ? 'field switch' : 'field' },
      field.kind === 'switch' ? [input, h('label', { for: id }, field.label)] : [h('label', { for: id }, field.label), input],
      field.hint ? h('p', { class: 'hint', id: `${id}-hint` }, field.hint) : null,
      errors[field.name]));
  }
  const classes = h('p', { class: 'hint' });
  const save = h('button', { type: 'submit' }, 'Save');
  form.append(classes, h('div', { class: 'actions' }, save, status));

  const show = (settings) => {
    current = settings;
    for (const field of FIELDS) {
      const value = settings[field.name];
      if (field.kind === 'switch') inputs[field.name].checked = value;
      else inputs[field.name].value = value === null ? '' : String(value);
    }
    classes.textContent = `Runner classes: ${settings.runnerClasses.join(', ')}`;
  };
  const clearErrors = () => {
    for (const field of FIELDS) {
      errors[field.name].textContent = '';
      inputs[field.name].removeAttribute('aria-invalid');
    }
    status.classList.remove('error');
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    const body = {};
    for (const field of FIELDS) body[field.name] = valueOf(field, inputs[field.name]);
    if (current?.offloadEnabled && body.offloadEnabled === false
        && !window.confirm(`Turning Offload off ends every live session of ${org} now. Turn it off?`)) {
      status.textContent = 'Not saved.';
      return;
    }
    save.disabled = true;
    status.textContent = 'Saving…';
    try {
      show(await call('PUT', `/v1/orgs/${encodeURIComponent(org)}/settings`, body));
      status.textContent = 'Saved.';
    } catch (e) {
      status.classList.add('error');
      if (e instanceof ApiError && e.field && errors[e.field]) {
        errors[e.field].textContent = e.message;
        inputs[e.field].setAttribute('aria-invalid', 'true');
        inputs[e.field].focus();
        status.textContent = 'Not saved: nothing was changed.';
      } else {
        status.textContent = `Not saved: ${e.message}`;
      }
    } finally {
      save.disabled = false;
    }
  });

  root.append(h('h1', {}, `Settings of ${org}`), form);
  get(`/v1/orgs/${encodeURIComponent(org)}/settings`)
    .then((settings) => {
      show(settings);
      status.textContent = '';
    })
    .catch((e) => {
      status.textContent = e.message;
      status.classList.add('error');
    });
}
