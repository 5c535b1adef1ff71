// The header every staff page shares: the hall's name, navigation to the pages the user's role may use (from
// GET /api/auth/me), the user and role, the language switch and logout. It also watches the session: a 401 from
// any API call, the live stream closed with 4401, the session's expiry or a check when the tab comes back sends the
// user to /login, which then says why and returns to this page after the next login; a change of the user's role
// (the stream closed with 4205, or seen by that check) reloads the page for the new role.
// window.hallShell exposes the state for tests: {state: 'loading'|'ready'|'leaving'|'open', me, leftFor}.
// startPage() is the start-up every page shares (texts, session, language switch, refusal, error banner).
import { el } from './dom.js';
import { I18n } from './i18n.js';

export const LOGIN_PATH = '/login';
const CHECK_EVERY_MS = 60_000; // a session revoked on the server is noticed within a minute at the latest
const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's limit (about 24.8 days)
// The 401 codes of the access guard (api/auth.py) that mean "you were logged in, and are not any more".
const LOST_SESSION = new Set(['session_expired', 'session_ended', 'session_unknown', 'account_disabled']);

// /login?next=<this page>&reason=<why>: the login page shows the reason and comes back here afterwards.
export function loginUrl(reason = null, next = location.pathname + location.search + location.hash) {
  const query = new URLSearchParams();
  if (next && next !== '/') query.set('next', next);
  if (reason) query.set('reason', reason);
  const text = query.toString();
  return text ? `${LOGIN_PATH}?${text}` : LOGIN_PATH;
}

// Where to go after login: only a path on this server (never "//host" or "https://..."), never the login page.
export function safeNext(raw) {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return null;
  const path = new URL(raw, location.origin);
  if (path.origin !== location.origin || path.pathname === LOGIN_PATH) return null;
  return path.pathname + path.search + path.hash;
}

export async function fetchHealth() {
  try {
    const response = await fetch('/api/health', { cache: 'no-store' });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

export class Shell {
  // header: the page's <header> with .hall-name, .shell-nav, .shell-user, .shell-logout inside; pageId: this page
  // in /api/auth/me "pages" (marked as the current one).
  constructor(header, i18n, pageId) {
    this.header = header;
    this.i18n = i18n;
    this.pageId = pageId;
    this.me = null;
    this.health = null;
    this.state = 'loading';
    this.leftFor = null;
    this.timers = [];
    this.originalFetch = window.fetch.bind(window);
    window.hallShell = this;
  }

  // True when the page may go on: a session (or a server without accounts); false when it is leaving for /login.
  async start() {
    const [health, response] = await Promise.all([fetchHealth(), this.fetchMe()]);
    this.health = health;
    if (response?.status === 401) {
      this.leave(await this.reasonOf(response, 'required'));
      return false;
    }
    if (response?.ok) {
      this.me = await response.json();
      this.state = 'ready';
    } else {
      this.state = 'open'; // no /api/auth on this server (404) or it failed: show the page without a user
    }
    this.watch();
    this.render();
    this.i18n.onChange(() => this.render());
    this.header.querySelector('.shell-logout')?.addEventListener('click', () => this.logout());
    return true;
  }

  async fetchMe() {
    try {
      return await this.originalFetch('/api/auth/me', { cache: 'no-store' });
    } catch {
      return null; // the server is unreachable: the page's own status shows it; the session is not judged
    }
  }

  async reasonOf(response, fallback) {
    try {
      const code = (await response.clone().json()).error;
      if (LOST_SESSION.has(code)) return code;
    } catch { /* not JSON */ }
    return fallback;
  }

  // Every way a session ends is noticed: API answers, expiry, the tab coming back, and a periodic check.
  watch() {
    const shell = this;
    window.fetch = async function watchedFetch(input, init) {
      const response = await shell.originalFetch(input, init);
      if (response.status === 401 && shell.isGuardedApi(input)) shell.leave(await shell.reasonOf(response, 'session_expired'));
      return response;
    };
    if (!this.me) return;
    const check = () => this.check();
    this.timers.push(setInterval(check, CHECK_EVERY_MS));
    const untilExpiry = Date.parse(this.me.expires_at) - Date.now();
    if (Number.isFinite(untilExpiry)) this.timers.push(setTimeout(check, Math.min(Math.max(untilExpiry + 1000, 0), MAX_TIMER_MS)));
    document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') check(); });
    window.addEventListener('focus', check);
  }

  isGuardedApi(input) {
    const url = new URL(typeof input === 'string' ? input : input?.url ?? String(input), location.href);
    return url.origin === location.origin && url.pathname.startsWith('/api/') && url.pathname !== '/api/auth/login';
  }

  async check() {
    if (this.state !== 'ready') return;
    const response = await this.fetchMe();
    if (response?.status === 401) this.leave(await this.reasonOf(response, 'session_expired'));
    else if (response?.ok && (await response.json()).role !== this.me.role) this.reload('role_changed');
  }

  // The live stream was closed by the server because the session is gone (close code 4401), or because the
  // user was given another role (4205: 'role_changed').
  sessionLost(reason = 'session_expired') {
    if (reason === 'role_changed') this.reload(reason);
    else this.leave(reason);
  }

  // The session lives on but the page must be built again (for another role: its view, or its refusal).
  reload(reason) {
    if (this.state === 'leaving') return;
    this.state = 'leaving';
    this.leftFor = reason;
    for (const timer of this.timers) clearTimeout(timer);
    location.reload();
  }

  leave(reason) {
    if (this.state === 'leaving') return;
    this.state = 'leaving';
    this.leftFor = reason;
    for (const timer of this.timers) clearTimeout(timer);
    location.replace(loginUrl(reason));
  }

  async logout() {
    const button = this.header.querySelector('.shell-logout');
    button.disabled = true;
    button.textContent = this.i18n.t('shell.logging_out');
    this.state = 'leaving';
    try {
      await this.originalFetch('/api/auth/logout', { method: 'POST' });
    } catch { /* the cookie may survive an unreachable server; the login page still opens */ }
    this.leftFor = 'logged_out';
    location.replace(`${LOGIN_PATH}?reason=logged_out`);
  }

  render() {
    const t = (key) => this.i18n.t(key);
    const hallName = this.header.querySelector('.hall-name');
    if (hallName) {
      hallName.textContent = this.health?.name ? this.i18n.name(this.health.name) : '';
      document.title = [hallName.textContent, t('app.title')].filter(Boolean).join(' · ');
    }
    const lang = this.header.querySelector('#lang-toggle');
    if (lang) lang.textContent = t('lang.switch'); // labelled at once, not only when the page has loaded
    const nav = this.header.querySelector('.shell-nav');
    const user = this.header.querySelector('.shell-user');
    const logout = this.header.querySelector('.shell-logout');
    if (!this.me) {
      for (const node of [nav, user, logout]) if (node) node.hidden = true;
      return;
    }
    nav.hidden = false;
    nav.setAttribute('aria-label', t('shell.nav'));
    nav.replaceChildren(...this.me.pages.map((page) => {
      const current = page.id === this.pageId;
      return el('a', {
        href: page.path, class: current ? 'current' : '', 'data-page': page.id,
        ...(current ? { 'aria-current': 'page' } : {}),
      }, this.i18n.name(page.title));
    }));
    user.hidden = false;
    user.title = t('shell.signed_in_as');
    user.replaceChildren(
      el('span', { class: 'user-name', 'data-testid': 'user-name' }, this.me.name),
      el('span', { class: 'user-role', 'data-testid': 'user-role', 'data-role': this.me.role },
        this.i18n.has(`role.${this.me.role}`) ? t(`role.${this.me.role}`) : this.me.role),
    );
    logout.hidden = false;
    if (this.state === 'ready') logout.textContent = t('shell.logout');
  }
}

// The start-up every page shares: its texts (the shared bundle and the page's own), the session (a staff page's
// header; a page that has no session goes to /login), the language switch, a page the user's role may not use
// told so (with the pages it may use), and, when anything fails, the reason in a banner. Then ``run`` builds the
// page: run({i18n, shell, setState}) (shell is null on a public page).
// options: state, the page's object for tests (window.hallX: state and error are set here too); session: false
// for a public page; lang: a language the address asks for (else the saved one); refusal: the i18n key that
// introduces the list of the pages the user may use.
export async function startPage(pageId, bundles, run, { state = {}, session = true, lang = null, refusal = null } = {}) {
  const setState = (name, error = null) => {
    state.state = name;
    state.error = error;
    document.body.dataset.state = name;
  };
  let i18n = null;
  try {
    i18n = new I18n(bundles);
    await i18n.load(lang ?? I18n.savedLanguage());
    let shell = null;
    if (session) {
      shell = new Shell(document.querySelector('header.shell'), i18n, pageId);
      if (!(await shell.start())) return; // on its way to /login
    }
    languageSwitch(i18n);
    if (shell?.me && !shell.me.pages.some((page) => page.id === pageId)) {
      const pages = shell.me.pages.map((page) => i18n.name(page.title)).join('、');
      banner(`${i18n.t(refusal ?? 'shell.not_for_role')} ${pages}`);
      document.querySelector('main').hidden = true;
      setState('refused');
      return;
    }
    await run({ i18n, shell, setState });
  } catch (error) {
    console.error(error);
    const reason = String(error?.message ?? error);
    setState('error', reason);
    banner(`${i18n?.has('shell.page_failed') ? i18n.t('shell.page_failed') : 'HallTwin'}: ${reason}`, 'page-error');
  }
}

// The header's language button: labelled in the next language, and switching to it.
function languageSwitch(i18n) {
  const button = document.getElementById('lang-toggle');
  if (!button) return;
  const label = () => { button.textContent = i18n.t('lang.switch'); };
  button.addEventListener('click', () => i18n.load(i18n.next()));
  i18n.onChange(label);
  label();
}

// A message across the page (role=alert): the page's #refusal paragraph, or one added after its header.
function banner(text, kind = '') {
  let node = document.getElementById('refusal');
  if (!node) {
    node = el('p', { id: 'refusal', class: 'refusal', role: 'alert', 'data-testid': 'refusal' });
    const header = document.querySelector('body > header');
    if (header) header.after(node); else document.body.prepend(node);
  }
  if (kind) node.classList.add(kind);
  node.textContent = text;
  node.hidden = false;
}
