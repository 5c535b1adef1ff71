// The security desk's alarm list: every open alarm by priority, then newest first, with its ISA-18.2 state in
// words, icon and colour, where it is and when; select one to work on it; tick several (or every
// unacknowledged one) to acknowledge a flood at once (POST /api/alarms/ack).
import { postJson } from './api.js';
import {
  PRIORITY_COLOURS, STATE_STYLES, byPriorityThenTime, isShelved, needsAck, shownState, timeText,
} from './alarm_state.js';
import { KeptRows, el, showInOrder } from './dom.js';

export class DeskAlarmList {
  // section: the list's <section>; feed: AlarmFeed; zoneName(id): a zone's name; onSelect(alarm)
  constructor(section, i18n, feed, { zoneName, onSelect, onMessage }) {
    this.section = section;
    this.i18n = i18n;
    this.feed = feed;
    this.zoneName = zoneName;
    this.onSelect = onSelect;
    this.onMessage = onMessage;
    this.list = section.querySelector('.desk-list');
    this.count = section.querySelector('.alarm-count');
    this.counts = section.querySelector('.desk-counts');
    this.empty = section.querySelector('.desk-empty');
    this.selectAll = section.querySelector('[data-testid=select-all]');
    this.ackButton = section.querySelector('[data-testid=ack-selected]');
    this.checked = new Set(); // alarm ids ticked for a bulk acknowledgement
    // A row is rebuilt only when what it shows changed, and the list reordered only when its order did: in a
    // flood the list is redrawn at every transition, and a row replaced between a press and its release would
    // swallow the operator's click on another alarm.
    this.rows = new KeptRows({
      idOf: (alarm) => alarm.id, keyOf: (alarm) => this.rowKey(alarm), build: (alarm) => this.row(alarm),
    });
    this.selected = null;
    this.selectAll.addEventListener('change', () => {
      this.checked = this.selectAll.checked ? new Set(this.alarms().filter(needsAck).map((a) => a.id)) : new Set();
      this.render();
    });
    this.ackButton.addEventListener('click', () => this.ackChecked());
  }

  alarms() { return this.feed.list().sort(byPriorityThenTime); }

  select(id) {
    this.selected = id;
    this.render();
    const alarm = this.feed.get(id);
    if (alarm) this.onSelect(alarm);
  }

  async ackChecked() {
    const ids = [...this.checked].filter((id) => this.feed.get(id) && needsAck(this.feed.get(id)));
    if (!ids.length) return;
    this.ackButton.disabled = true;
    try {
      const answer = await postJson('/api/alarms/ack', { ids });
      for (const alarm of answer.acked) this.feed.upsert(alarm);
      const refused = Object.entries(answer.refused ?? {});
      this.onMessage(refused.length ? 'error' : 'ok', refused.length
        ? `${this.i18n.t('desk.bulk_partly')} ${refused.map(([id, why]) => `#${id}: ${why}`).join('; ')}`
        : `${this.i18n.t('desk.bulk_done')} ${answer.acked.length}`);
      this.checked = new Set();
      this.selectAll.checked = false;
    } catch (error) {
      this.onMessage('error', `${this.i18n.t('desk.ack_failed')} ${error.message}`);
    }
    this.render();
  }

  render() {
    const t = (key) => this.i18n.t(key);
    const alarms = this.alarms();
    const ids = new Set(alarms.map((a) => a.id));
    this.checked = new Set([...this.checked].filter((id) => ids.has(id)));
    const tally = { unack: 0, ack: 0, rtn_unack: 0, shelved: 0, out_of_service: 0 };
    for (const alarm of alarms) tally[shownState(alarm)] = (tally[shownState(alarm)] ?? 0) + 1;
    this.counts.replaceChildren(...Object.entries(tally).filter(([, n]) => n).map(([state, n]) => el('span',
      { class: 'tally', 'data-state': state, style: `color:${STATE_STYLES[state].colour}` },
      `${STATE_STYLES[state].icon} ${t(`alarm.state.${state}`)} ${n}`)));
    this.count.textContent = String(alarms.length);
    this.count.dataset.count = String(alarms.length);
    this.empty.hidden = alarms.length > 0;
    const unacked = alarms.filter(needsAck).length;
    this.ackButton.textContent = `${t('desk.ack_selected')} (${this.checked.size})`;
    this.ackButton.disabled = this.checked.size === 0;
    this.selectAll.disabled = unacked === 0;
    this.selectAll.closest('label').lastElementChild.textContent = `${t('desk.select_unacked')} (${unacked})`;
    showInOrder(this.list, this.rows.rows(alarms));
  }

  // Everything row() shows of an alarm, so that an unchanged alarm keeps its row.
  rowKey(alarm) {
    return JSON.stringify([
      this.i18n.lang, shownState(alarm), alarm.priority, alarm.title, alarm.zone, alarm.raised_at, alarm.drill,
      alarm.latched, isShelved(alarm) ? alarm.shelved_until : null, needsAck(alarm), this.checked.has(alarm.id),
      alarm.id === this.selected,
    ]);
  }

  row(alarm) {
    const t = (key) => this.i18n.t(key);
    const state = shownState(alarm);
    const style = STATE_STYLES[state];
    const box = el('input', { type: 'checkbox', 'aria-label': t('desk.tick'), 'data-testid': 'tick' });
    box.checked = this.checked.has(alarm.id);
    box.disabled = !needsAck(alarm);
    box.addEventListener('change', () => {
      if (box.checked) this.checked.add(alarm.id); else this.checked.delete(alarm.id);
      this.render();
    });
    const where = [alarm.zone ? this.zoneName(alarm.zone) : null, timeText(alarm.raised_at, this.i18n.lang)]
      .filter(Boolean).join(' · ');
    const tags = [];
    if (alarm.drill) tags.push(el('span', { class: 'tag drill' }, t('alarm.drill')));
    if (alarm.latched) tags.push(el('span', { class: 'tag' }, t('desk.latched')));
    if (isShelved(alarm)) tags.push(el('span', { class: 'tag' }, `${t('desk.until')} ${timeText(alarm.shelved_until, this.i18n.lang)}`));
    const body = el('button', { type: 'button', class: 'row-body' },
      el('span', { class: 'priority', style: `background:${PRIORITY_COLOURS[alarm.priority]}` }, t(`alarm.priority.${alarm.priority}`)),
      el('span', { class: 'title' }, this.i18n.name(alarm.title)),
      el('span', { class: `alarm-state${style.flashing ? ' flashing' : ''}`, style: `color:${style.colour}`, 'data-testid': 'row-state' },
        `${style.icon} ${t(`alarm.state.${state}`)}`),
      el('span', { class: 'where' }, where, ...tags));
    body.addEventListener('click', () => this.select(alarm.id));
    return el('li', {
      'data-alarm': String(alarm.id), 'data-state': state, 'data-priority': alarm.priority, 'data-testid': 'desk-row',
      class: alarm.id === this.selected ? 'selected' : '', style: `--priority:${PRIORITY_COLOURS[alarm.priority]}`,
    }, box, body);
  }
}
