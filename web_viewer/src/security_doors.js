// The desk's door panel: every access-controlled door with its lock, open and forced state and their quality;
// unlock (for a time, with a reason) and lock, each confirmed in a dialog, sent through /api/doors (the
// CommandRouter: audited, read back) and answered with the device's outcome. Doors of the selected alarm's zone
// come first.
import { getJson, postJson } from './api.js';
import { KeptRows, el, showInOrder } from './dom.js';
import { durationText } from './format.js';

const REFRESH_MS = 4000;
const UNLOCK_SECONDS = [10, 30, 60, 300, 900];

export class DoorPanel {
  constructor(panel, i18n, dialog) {
    this.panel = panel;
    this.i18n = i18n;
    this.dialog = dialog;
    this.doors = [];
    this.error = null;
    this.message = null;
    this.zone = null; // the selected alarm's zone
    this.timer = null;
    // Redrawn at every refresh (4 s): the heading, list and rows of unchanged doors stay the same elements, so a
    // press on a door's button is never lost to a redraw between press and release.
    this.heading = el('h4');
    this.list = el('ul', { class: 'doors' });
    this.empty = el('p', { class: 'muted' });
    this.errorLine = el('p', { class: 'action-message error', role: 'alert' });
    this.messageLine = el('p', { role: 'status', 'data-testid': 'door-message' });
    this.rows = new KeptRows({
      idOf: (door) => door.id, keyOf: (door) => this.rowKey(door), build: (door) => this.row(door),
    });
  }

  async start() {
    await this.refresh();
    this.timer = setInterval(() => { if (!this.panel.hidden) this.refresh(); }, REFRESH_MS);
  }

  setZone(zone) {
    this.zone = zone;
    this.render();
  }

  async refresh() {
    try {
      this.doors = await getJson('/api/doors');
      this.error = null;
    } catch (error) {
      this.error = error.message;
    }
    this.render();
  }

  render() {
    const t = (key) => this.i18n.t(key);
    const doors = [...this.doors].sort((a, b) => (b.zone === this.zone) - (a.zone === this.zone)
      || this.i18n.name(a.name).localeCompare(this.i18n.name(b.name), this.i18n.lang, { numeric: true }));
    this.heading.textContent = t('desk.doors');
    this.empty.textContent = t('desk.no_doors');
    showInOrder(this.list, this.rows.rows(doors));
    this.errorLine.textContent = this.error ?? '';
    if (this.message) {
      this.messageLine.className = `action-message ${this.message.kind}`;
      this.messageLine.textContent = this.message.text;
    }
    showInOrder(this.panel, [
      this.heading,
      ...(this.error ? [this.errorLine] : []),
      ...(this.message ? [this.messageLine] : []),
      doors.length ? this.list : this.empty,
    ]);
  }

  // Everything row() shows of a door, so that an unchanged door keeps its row.
  rowKey(door) {
    return JSON.stringify([this.i18n.lang, door.name, door.locked, door.open, door.forced, door.unlocked_until,
      door.quality, door.reason, door.zone === this.zone && this.zone]);
  }

  row(door) {
    const t = (key) => this.i18n.t(key);
    const lock = door.locked === null ? t('desk.door_unknown') : door.locked ? t('desk.door_locked') : t('desk.door_unlocked');
    const open = door.open === null ? '' : door.open ? t('desk.door_open') : t('desk.door_closed');
    const states = [el('span', { class: `lock ${door.locked === false ? 'unlocked' : ''}`, 'data-testid': 'door-lock' }, lock)];
    if (open) states.push(el('span', {}, open));
    if (door.forced) states.push(el('span', { class: 'forced' }, `⚠ ${t('desk.door_forced')}`));
    if (door.unlocked_until) states.push(el('span', { class: 'muted' }, `${t('desk.relock_at')} ${new Date(door.unlocked_until * 1000).toLocaleTimeString(this.i18n.lang === 'zh' ? 'zh-CN' : 'en-GB')}`));
    if (door.quality !== 'GOOD') states.push(el('span', { class: 'quality' }, `${door.quality}${door.reason ? `: ${door.reason}` : ''}`));
    const unlock = el('button', { type: 'button', 'data-testid': 'door-unlock' }, t('desk.unlock'));
    unlock.addEventListener('click', () => this.confirm(door, 'unlock'));
    const lockButton = el('button', { type: 'button', 'data-testid': 'door-lock-button' }, t('desk.lock'));
    lockButton.addEventListener('click', () => this.confirm(door, 'lock'));
    return el('li', { 'data-door': door.id, class: door.zone === this.zone && this.zone ? 'in-zone' : '' },
      el('div', { class: 'door-name' }, this.i18n.name(door.name)),
      el('div', { class: 'door-state' }, ...states),
      el('div', { class: 'door-buttons' }, unlock, lockButton));
  }

  confirm(door, action) {
    const t = (key) => this.i18n.t(key);
    const reason = el('input', { name: 'reason', required: '', maxlength: '500', 'data-testid': 'door-reason', placeholder: t('desk.reason_placeholder') });
    const fields = [el('label', { class: 'field' }, el('span', {}, t('desk.reason')), reason)];
    let duration = null;
    if (action === 'unlock') {
      duration = el('select', { name: 'duration', 'data-testid': 'door-duration' },
        ...UNLOCK_SECONDS.map((s) => el('option', { value: String(s) }, durationText(s, this.i18n.lang))));
      duration.value = '30';
      fields.push(el('label', { class: 'field' }, el('span', {}, t('desk.unlock_for')), duration));
    }
    this.dialog.open({
      title: `${t(action === 'unlock' ? 'desk.unlock_confirm' : 'desk.lock_confirm')} ${this.i18n.name(door.name)}`,
      fields,
      okText: t(action === 'unlock' ? 'desk.unlock' : 'desk.lock'),
      action: async () => {
        const body = { reason: reason.value.trim() };
        if (duration) body.duration_s = Number(duration.value);
        try {
          const result = await postJson(`/api/doors/${encodeURIComponent(door.id)}/${action}`, body);
          this.message = { kind: 'ok', text: this.i18n.name(result.summary) || result.message };
        } catch (error) {
          const summary = error.body?.result?.summary;
          throw new Error(summary ? this.i18n.name(summary) : error.message);
        }
        await this.refresh();
      },
    });
  }
}
