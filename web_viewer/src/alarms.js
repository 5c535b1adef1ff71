// The alarm list: every element of the building whose live state is 'alarm', upper storeys first; a click
// flies the camera to it. Redrawn only when the set of alarms changes, not on every live update.
import { STATE_COLOURS, hex } from './palette.js';
import { el } from './panel.js';

export class AlarmList {
  // onPick(guid): what a click on an entry does
  constructor(section, i18n, model, onPick) {
    this.section = section;
    this.items = section.querySelector('.alarm-items');
    this.count = section.querySelector('.alarm-count');
    this.empty = section.querySelector('.alarm-empty');
    this.i18n = i18n;
    this.model = model;
    this.onPick = onPick;
    this.guids = [];
    this.key = null;
  }

  // live: LiveData (null or offline: the list has nothing to say and is hidden)
  update(live) {
    const available = Boolean(live) && live.status !== 'offline';
    const guids = available
      ? live.elementGuids().filter((guid) => this.model.info.has(guid) && live.elementState(guid) === 'alarm')
      : [];
    const key = `${available}|${guids.sort().join(',')}`;
    if (key === this.key) return;
    this.key = key;
    this.guids = guids;
    this.section.hidden = !available;
    this.render();
  }

  render() {
    const storeyRank = new Map(this.model.storeys.map((storey, i) => [storey.guid, i]));
    const entries = this.guids.map((guid) => {
      const info = this.model.info.get(guid);
      return { guid, info, name: this.i18n.local(info.name) || guid, rank: storeyRank.get(info.storey) ?? -1 };
    });
    entries.sort((a, b) => b.rank - a.rank || a.name.localeCompare(b.name, this.i18n.lang, { numeric: true }));
    this.items.replaceChildren(...entries.map(({ guid, info, name }) => {
      const storey = this.model.storeyByGuid.get(info.storey);
      const room = info.space ? this.model.info.get(info.space) : null;
      const where = [storey?.name, room ? room.name : null].filter(Boolean).join(' · ');
      const button = el('button', { type: 'button', 'data-guid': guid },
        el('span', { class: 'chip', style: `background:${hex(STATE_COLOURS.alarm)}` }),
        el('span', { class: 'name' }, name),
        el('span', { class: 'where' }, where));
      button.addEventListener('click', () => this.onPick(guid));
      return el('li', {}, button);
    }));
    this.count.textContent = String(entries.length);
    this.count.dataset.count = String(entries.length);
    this.empty.hidden = entries.length > 0;
  }

  // After a language switch: names change, the alarms do not.
  refreshTexts() {
    if (this.key !== null) this.render();
  }
}
