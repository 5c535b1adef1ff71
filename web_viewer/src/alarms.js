// The twin's alarm list: the alarm engine's open alarms (from the live stream's "alarms"/"alarm" frames), upper
// storeys first, then by priority and time, each with its ISA-18.2 state in words and colour; a click flies the
// camera to it. Fire-zone alarms tint every room of their IfcZone (AlarmZones). Redrawn only when the alarms
// change, not on every live update.
import { STATE_STYLES, PRIORITY_COLOURS, byPriorityThenTime, placeOf, shownState, timeText } from './alarm_state.js';
import { AlarmZones } from './alarm_tint.js';
import { el, showInOrder } from './dom.js';

const PULSE_EVERY_MS = 300;

export class AlarmList {
  // onPick(guid): open and fly to an element (the twin's focusElement); stage: to fly to a zone of rooms
  constructor(section, i18n, model, onPick, stage = null) {
    this.section = section;
    this.items = section.querySelector('.alarm-items');
    this.count = section.querySelector('.alarm-count');
    this.empty = section.querySelector('.alarm-empty');
    this.i18n = i18n;
    this.model = model;
    this.onPick = onPick;
    this.stage = stage;
    this.zones = stage ? new AlarmZones(model, stage.scene) : null;
    this.alarms = [];
    this.guids = [];
    this.key = null;
    this.rows = new Map(); // alarm id -> its <li>, kept while the alarm is listed
    if (this.zones) {
      stage.beforeRender.push(() => this.zones.syncVisibility());
      setInterval(() => { if (this.zones.animate()) stage.requestRender(); }, PULSE_EVERY_MS);
    }
  }

  // live: LiveData (null or offline: the list has nothing to say and is hidden)
  update(live) {
    const available = Boolean(live) && live.status !== 'offline';
    const alarms = available ? live.alarms.list() : [];
    const key = `${available}|${alarms.map((a) => `${a.id}:${a.state}:${shownState(a)}:${a.active}`).sort().join(',')}`;
    if (key === this.key) return;
    this.key = key;
    this.alarms = alarms;
    this.guids = [...new Set(alarms.map((alarm) => placeOf(alarm, this.model).guid).filter(Boolean))];
    this.section.hidden = !available;
    if (this.zones?.update(alarms)) this.stage.requestRender();
    this.render();
  }

  // The storey of an alarm: its element's, else its first room's.
  storeyOf(alarm) {
    const { guid, spaces } = placeOf(alarm, this.model);
    return this.model.info.get(guid ?? spaces[0])?.storey ?? null;
  }

  render() {
    const rank = new Map(this.model.storeys.map((storey, i) => [storey.guid, i]));
    const entries = this.alarms.map((alarm) => ({ alarm, rank: rank.get(this.storeyOf(alarm)) ?? -1 }));
    entries.sort((a, b) => b.rank - a.rank || byPriorityThenTime(a.alarm, b.alarm));
    const t = (key) => this.i18n.t(key);
    // Each alarm keeps its row while it is listed: the list is redrawn whenever an alarm changes, and a row
    // replaced between a press and its release would swallow the operator's click.
    const rows = entries.map(({ alarm }) => {
      const state = shownState(alarm);
      const style = STATE_STYLES[state];
      const storey = this.model.storeyByGuid.get(this.storeyOf(alarm));
      const where = [storey?.name, timeText(alarm.raised_at, this.i18n.lang)].filter(Boolean).join(' · ');
      const row = this.rowFor(alarm.id);
      const button = row.firstElementChild;
      Object.assign(button.dataset, {
        state, priority: alarm.priority, guid: placeOf(alarm, this.model).guid ?? '',
      });
      button.title = this.i18n.name(alarm.message);
      const content = [alarm.priority, state, this.i18n.lang, this.i18n.name(alarm.title), where].join('|');
      if (button.dataset.content === content) return row;
      button.dataset.content = content;
      button.replaceChildren(
        el('span', { class: 'chip', style: `background:${PRIORITY_COLOURS[alarm.priority]}`, title: t(`alarm.priority.${alarm.priority}`) }),
        el('span', { class: 'name' }, this.i18n.name(alarm.title)),
        el('span', { class: `alarm-state${style.flashing ? ' flashing' : ''}`, style: `color:${style.colour}` },
          `${style.icon} ${t(`alarm.state.${state}`)}`),
        el('span', { class: 'where' }, where));
      return row;
    });
    const listed = new Set(this.alarms.map((alarm) => alarm.id));
    for (const id of this.rows.keys()) if (!listed.has(id)) this.rows.delete(id);
    showInOrder(this.items, rows);
    this.count.textContent = String(entries.length);
    this.count.dataset.count = String(entries.length);
    this.empty.hidden = entries.length > 0;
  }

  rowFor(id) {
    let row = this.rows.get(id);
    if (!row) {
      const button = el('button', { type: 'button', 'data-alarm': String(id) });
      button.addEventListener('click', () => {
        const alarm = this.alarms.find((a) => a.id === id);
        if (alarm) this.pick(alarm);
      });
      row = el('li', {}, button);
      this.rows.set(id, row);
    }
    return row;
  }

  // Fly to the alarm's element; a zone's alarm (no element of its own) to all of its rooms.
  pick(alarm) {
    const { guid, spaces } = placeOf(alarm, this.model);
    if (guid) { this.onPick(guid); return; }
    if (!spaces.length) return;
    this.onPick(spaces[0]); // shows its storey and the room's panel
    const box = this.zones?.boxOf(spaces);
    if (box && spaces.length > 1) this.stage.focus(box);
  }

  // After a language switch: titles change, the alarms do not.
  refreshTexts() {
    if (this.key !== null) this.render();
  }
}
