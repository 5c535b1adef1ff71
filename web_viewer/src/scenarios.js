// The demo's scenario panel: start and clear the simulated incidents of `halltwin demo` (/api/demo/scenarios).
// It exists only where that API answers: a production server has no such routes, and the panel stays hidden.
import { el, showInOrder } from './dom.js';

const POLL_MS = 3000; // the demo's own tour starts and clears scenarios as well: follow it

export class ScenarioPanel {
  constructor(section, i18n) {
    this.section = section;
    this.buttons = section.querySelector('.scenario-buttons');
    this.message = section.querySelector('.scenario-error');
    this.i18n = i18n;
    this.available = [];
    this.active = {}; // name -> {zh, en} title of the running incident, shown as a tooltip
    this.busy = new Set();
    this.error = null;
    this.present = null; // null: not asked yet; then whether this server has the demo API
    this.timer = null;
    this.made = new Map(); // name -> its button, made once
  }

  async start() {
    const state = await this.fetchState();
    this.present = state !== null;
    this.section.hidden = !this.present;
    if (!this.present) return false;
    this.apply(state);
    this.timer = setInterval(() => this.refresh(), POLL_MS);
    return true;
  }

  stop() { clearInterval(this.timer); }

  async fetchState() {
    let response;
    try {
      response = await fetch('/api/demo/scenarios', { cache: 'no-store' });
    } catch {
      return null;
    }
    if (!response.ok) return null;
    try {
      const body = await response.json();
      return Array.isArray(body?.available) ? body : null;
    } catch {
      return null;
    }
  }

  async refresh() {
    const state = await this.fetchState();
    if (state) this.apply(state); // a failed poll keeps what was shown: the next one will tell
  }

  apply(state) {
    this.available = state.available;
    this.active = state.active ?? {};
    this.render();
  }

  async toggle(name) {
    const action = name in this.active ? 'clear' : 'start';
    this.busy.add(name);
    this.error = null;
    this.render();
    try {
      const response = await fetch(`/api/demo/scenarios/${encodeURIComponent(name)}/${action}`, { method: 'POST' });
      if (!response.ok) {
        let detail = `HTTP ${response.status}`;
        try { detail = (await response.json()).detail ?? detail; } catch { /* not JSON: keep the status */ }
        this.error = { key: `scenario.${action}_failed`, detail };
      }
    } catch (error) {
      this.error = { key: `scenario.${action}_failed`, detail: String(error.message ?? error) };
    } finally {
      this.busy.delete(name);
    }
    await this.refresh();
    this.render();
  }

  render() {
    if (!this.present) return;
    const t = (key) => this.i18n.t(key);
    // Buttons are kept and updated in place: the panel follows the demo's state every few seconds, and a button
    // replaced between a press and its release would swallow the operator's click.
    const buttons = this.available.map((name) => {
      const button = this.buttonFor(name);
      const active = name in this.active;
      const label = this.i18n.has(`scenario.${name}`) ? t(`scenario.${name}`) : name;
      button.setAttribute('aria-pressed', String(active));
      button.title = active ? `${t('scenario.clear_hint')} · ${this.i18n.name(this.active[name])}` : t('scenario.start_hint');
      button.querySelector('.label').textContent = label;
      const tag = button.querySelector('.tag');
      tag.hidden = !active;
      tag.textContent = t('scenario.active');
      button.disabled = this.busy.has(name);
      return button;
    });
    showInOrder(this.buttons, buttons);
    this.message.hidden = !this.error;
    this.message.textContent = this.error ? `${t(this.error.key)}: ${this.error.detail}` : '';
  }

  buttonFor(name) {
    let button = this.made.get(name);
    if (!button) {
      button = el('button', { type: 'button', class: 'scenario', 'data-scenario': name },
        el('span', { class: 'label' }), el('span', { class: 'tag' }));
      button.addEventListener('click', () => this.toggle(name));
      this.made.set(name, button);
    }
    return button;
  }
}
