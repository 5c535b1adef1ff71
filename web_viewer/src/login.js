// The login page: user name and password to POST /api/auth/login (the server sets the session cookie), a clear
// message for a wrong password, a lockout (429, with the wait) or a lost session, the demo accounts under
// `halltwin demo`, and back to the page that was asked for (?next=) afterwards.
// window.hallLogin exposes {state: 'loading'|'ready'|'busy'|'error'|'done', error} for tests.
import { el } from './dom.js';
import { I18n } from './i18n.js';
import { fetchHealth, safeNext } from './shell.js';

// The accounts `halltwin demo` creates: one per role, named after it (DESIGN.md, public contract).
const DEMO_USERS = ['admin', 'facility', 'security', 'maintenance', 'manager'];
const REASONS = new Set(['required', 'session_expired', 'session_ended', 'session_unknown', 'account_disabled', 'logged_out']);

const hallLogin = { state: 'loading', error: null };
window.hallLogin = hallLogin;

function setState(state, error = null) {
  hallLogin.state = state;
  hallLogin.error = error;
  document.body.dataset.state = state;
}

async function me() {
  try {
    const response = await fetch('/api/auth/me', { cache: 'no-store' });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

// After login: the page asked for, else the first page this role may use.
async function destination(next) {
  const wanted = safeNext(next);
  if (wanted) return wanted;
  const session = await me();
  return session?.pages?.[0]?.path ?? '/';
}

async function main() {
  const i18n = new I18n();
  await i18n.load(I18n.savedLanguage());
  const params = new URLSearchParams(location.search);
  const next = params.get('next');
  const reason = REASONS.has(params.get('reason')) ? params.get('reason') : null;
  const form = document.getElementById('login-form');
  const username = document.getElementById('username');
  const password = document.getElementById('password');
  const submit = document.getElementById('login-submit');
  const errorBox = document.getElementById('login-error');
  const reasonBox = document.getElementById('login-reason');
  const demo = document.getElementById('demo-accounts');
  const langButton = document.getElementById('lang-toggle');
  let error = null; // {key, vars, detail}

  // Already logged in (a bookmark of /login): straight on, unless we were sent here because a session ended.
  if (!reason || reason === 'required') {
    const session = await me();
    if (session) {
      setState('done');
      location.replace(await destination(next));
      return;
    }
  }
  const health = await fetchHealth();

  const render = () => {
    const t = (key) => i18n.t(key);
    const hall = health?.name ? i18n.name(health.name) : '';
    document.querySelector('.hall-name').textContent = hall;
    document.title = [t('login.page_title'), hall].filter(Boolean).join(' · ');
    langButton.textContent = t('lang.switch');
    reasonBox.hidden = !reason;
    reasonBox.dataset.reason = reason ?? '';
    reasonBox.textContent = reason ? t(reason === 'logged_out' ? 'login.logged_out' : `login.${reason}`) : '';
    errorBox.hidden = !error;
    errorBox.dataset.error = error?.key ?? '';
    if (error) {
      let text = t(error.key);
      for (const [name, value] of Object.entries(error.vars ?? {})) text = text.replace(`{${name}}`, value);
      errorBox.replaceChildren(el('span', {}, text));
      if (error.detail) errorBox.append(el('small', { class: 'detail' }, error.detail));
    }
    submit.textContent = t(hallLogin.state === 'busy' ? 'login.busy' : 'login.submit');
    demo.hidden = !health?.demo;
    demo.querySelector('.demo-users').replaceChildren(...DEMO_USERS.map((name) => {
      const button = el('button', { type: 'button', 'data-user': name },
        el('span', { class: 'demo-name' }, name), el('span', { class: 'demo-role' }, t(`role.${name}`)));
      button.addEventListener('click', () => { username.value = name; password.focus(); });
      return el('li', {}, button);
    }));
  };
  i18n.onChange(render);
  langButton.addEventListener('click', () => i18n.load(i18n.next()));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!username.value.trim() || !password.value) {
      error = { key: 'login.missing' };
      setState('error', error.key);
      render();
      (username.value.trim() ? password : username).focus();
      return;
    }
    setState('busy');
    error = null;
    submit.disabled = true;
    render();
    let response;
    try {
      response = await fetch('/api/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: username.value.trim(), password: password.value }),
      });
    } catch (failure) {
      error = { key: 'login.unreachable', detail: String(failure.message ?? failure) };
    }
    if (response?.ok) {
      setState('done');
      location.replace(await destination(next));
      return;
    }
    if (response) error = await refusal(response);
    submit.disabled = false;
    setState('error', error.key);
    password.value = '';
    render();
    password.focus();
  });

  render();
  setState('ready');
  (username.value ? password : username).focus();
}

// A refused login as a message: wrong password (401), lockout (429, with the wait), anything else with its detail.
async function refusal(response) {
  let body = {};
  try { body = await response.json(); } catch { /* not JSON: the status says enough */ }
  const detail = typeof body.detail === 'string' ? body.detail : `HTTP ${response.status}`;
  if (response.status === 401) return { key: 'login.failed' };
  if (response.status === 429) {
    const seconds = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
    return { key: 'login.locked', vars: { seconds: Number.isFinite(seconds) ? seconds : '?' }, detail };
  }
  return { key: 'login.refused', detail };
}

main().catch((failure) => {
  console.error(failure);
  setState('error', String(failure.message ?? failure));
});
