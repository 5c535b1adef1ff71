// Today's inspection rounds (T/ZAS 4012 7.2.4) on the maintenance page: each run with its window and progress,
// its items in walking order (a reverse round is walked backwards), and a result per item: OK, fault (opens a
// repair order on the server) or not checkable; the last two need a note.
import { getJson, postJson } from './api.js';
import { el } from './dom.js';
import { keepFocus } from './kept_forms.js';

export class RoundPanel {
  constructor(container, i18n, { devices, zoneName, onChanged }) {
    this.container = container;
    this.i18n = i18n;
    this.devices = devices;
    this.zoneName = zoneName;
    this.onChanged = onChanged;
    this.runs = [];
    this.error = null;
    this.noting = null; // {run, n, result, form}: an item waiting for its note, and the form it is typed in
    this.message = null;
  }

  async load() {
    try {
      this.runs = await getJson('/api/rounds/today');
      this.error = null;
    } catch (error) {
      this.error = error.message;
    }
    return this.runs;
  }

  openCount() { return this.runs.filter((run) => run.status === 'open').length; }

  async record(run, n, result, note = null) {
    try {
      const updated = await postJson(`/api/rounds/${run.id}/items/${n}`, note ? { result, note } : { result });
      this.runs = this.runs.map((r) => (r.id === updated.id ? updated : r));
      this.noting = null;
      const item = updated.items.find((i) => i.n === n);
      this.message = { kind: 'ok', text: item?.work_order ? `${this.i18n.t('maint.round_saved')} ${this.i18n.t('maint.round_order')} #${item.work_order}` : this.i18n.t('maint.round_saved') };
      this.onChanged();
    } catch (error) {
      this.message = { kind: 'error', text: `${this.i18n.t('maint.refused')} ${error.message}` };
    }
    this.render();
  }

  render() {
    // The page redraws the rounds whenever a work order changes anywhere in the hall: the note being typed is the
    // same form element in the new drawing (noteForm), keeping its text, focus and caret.
    const restoreFocus = keepFocus();
    const t = (key) => this.i18n.t(key);
    const locale = this.i18n.lang === 'zh' ? 'zh-CN' : 'en-GB';
    const time = (s) => new Date(s * 1000).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
    if (this.error) { this.container.replaceChildren(el('p', { class: 'message error' }, this.error)); return; }
    if (!this.runs.length) { this.container.replaceChildren(el('p', { class: 'muted' }, t('maint.no_round'))); return; }
    const runs = this.runs.map((run) => {
      const items = run.direction === 'reverse' ? [...run.items].reverse() : run.items;
      return el('article', { class: 'card round', 'data-run': String(run.id), 'data-status': run.status, 'data-testid': 'round-run' },
        el('div', { class: 'card-head' }, el('strong', {}, this.i18n.name(run.name)),
          el('span', { class: 'status', 'data-status': run.status }, t(`maint.round_${run.status}`))),
        el('p', { class: 'muted' }, `${time(run.due_at)}–${time(run.window_end)} · ${run.checked}/${run.total} · ${t(`maint.direction_${run.direction}`)}`),
        el('ol', { class: 'round-items' }, ...items.map((item) => this.item(run, item))));
    });
    this.container.replaceChildren(
      ...(this.message ? [el('p', { class: `message ${this.message.kind}`, role: 'status', 'data-testid': 'round-message' }, this.message.text)] : []),
      ...runs);
    restoreFocus();
  }

  // The note form of the item waiting for its note, made once for that item and result.
  noteForm(run, item) {
    const t = (key) => this.i18n.t(key);
    const noting = this.noting;
    if (noting.form) {
      noting.form.querySelector('input').placeholder = t(`maint.note_for_${noting.result}`); // the language may have changed
      return noting.form;
    }
    const note = el('input', { required: '', maxlength: '2000', placeholder: t(`maint.note_for_${noting.result}`), 'data-testid': 'round-note' });
    const form = el('form', { class: 'comment-form' }, note, el('button', { type: 'submit', class: 'primary' }, t('maint.save')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (note.value.trim()) this.record(run, item.n, noting.result, note.value.trim());
    });
    noting.form = form;
    return form;
  }

  item(run, item) {
    const t = (key) => this.i18n.t(key);
    const device = item.device ? this.devices.byId.get(item.device) : null;
    const where = device ? this.i18n.name(device.name) : item.zone ? this.zoneName(item.zone) : '';
    const open = run.status === 'open';
    const buttons = ['ok', 'fail', 'na'].map((result) => {
      const b = el('button', { type: 'button', class: `result ${result}`, 'aria-pressed': String(item.result === result), 'data-result': result }, t(`maint.result_${result}`));
      b.disabled = !open;
      b.addEventListener('click', () => {
        if (result === 'ok') this.record(run, item.n, 'ok');
        else if (this.noting?.run !== run.id || this.noting.n !== item.n || this.noting.result !== result) {
          this.noting = { run: run.id, n: item.n, result, form: null };
          this.render();
        }
      });
      return b;
    });
    const parts = [el('div', { class: 'item-text' }, el('span', {}, `${item.n}. ${this.i18n.name(item.text)}`), where ? el('span', { class: 'muted' }, where) : ''),
      el('div', { class: 'results' }, ...buttons)];
    if (item.result && item.result !== 'ok' && item.note) parts.push(el('p', { class: 'muted' }, item.note));
    if (item.work_order) parts.push(el('p', { class: 'muted' }, `${t('maint.round_order')} #${item.work_order}`));
    if (this.noting?.run === run.id && this.noting.n === item.n) parts.push(this.noteForm(run, item));
    return el('li', { 'data-item': String(item.n), 'data-result': item.result ?? '' }, ...parts);
  }
}
