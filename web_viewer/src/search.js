// Search: a device or room by name (either language), a room or window number, or a GlobalId; choosing a
// result flies to it and selects it.
import { roomZh } from './ifc_names.js';
import { el } from './dom.js';

const MAX_RESULTS = 12;

export class Search {
  // onPick(guid): what choosing a result does
  constructor(input, list, i18n, model, devices, onPick) {
    Object.assign(this, { input, list, i18n, model, devices, onPick });
    this.entries = this.index();
    input.addEventListener('input', () => this.show());
    input.addEventListener('focus', () => this.show());
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') { const first = this.results()[0]; if (first) this.choose(first.guid); }
      if (event.key === 'Escape') { input.value = ''; this.show(); input.blur(); event.stopPropagation(); }
    });
    document.addEventListener('pointerdown', (event) => { if (!list.contains(event.target) && event.target !== input) list.hidden = true; });
  }

  // [guid, kind, texts to match, label] for every device, room, window and door.
  index() {
    const entries = [];
    for (const device of this.devices.list) {
      if (!this.model.info.has(device.ifc_guid)) continue;
      entries.push({ guid: device.ifc_guid, kind: 'device', texts: [device.id, device.name.zh, device.name.en], device });
    }
    for (const info of this.model.info.values()) {
      if (info.isSpace && this.model.nodes.has(info.guid)) {
        // Found by the Chinese rendering of an English name too ("会议室" finds "Meeting Room 2").
        const zh = roomZh(info.longName);
        entries.push({ guid: info.guid, kind: 'room', texts: [info.name, info.longName, zh].filter(Boolean), info });
      } else if (/^(IfcWindow|IfcDoor)/.test(info.ifcClass) && info.name) {
        entries.push({ guid: info.guid, kind: info.ifcClass.startsWith('IfcWindow') ? 'window' : 'door', texts: [info.name], info });
      }
    }
    return entries;
  }

  results() {
    const query = this.input.value.trim().toLowerCase();
    if (!query) return [];
    const found = [];
    for (const entry of this.entries) {
      const texts = entry.texts.map((text) => String(text).toLowerCase());
      const rank = texts.some((text) => text === query) ? 0 : texts.some((text) => text.startsWith(query)) ? 1
        : texts.some((text) => text.includes(query)) ? 2 : null;
      if (rank !== null) found.push({ ...entry, rank });
    }
    // A GlobalId is matched whole (case matters in GlobalIds, but a reader may not type it so).
    const byGuid = [...this.model.info.keys()].find((guid) => guid.toLowerCase() === query);
    if (byGuid && !found.some((entry) => entry.guid === byGuid)) {
      found.push({ guid: byGuid, kind: 'element', texts: [byGuid], info: this.model.info.get(byGuid), rank: 0 });
    }
    return found.sort((a, b) => a.rank - b.rank).slice(0, MAX_RESULTS);
  }

  label(entry) {
    if (entry.device) return this.i18n.name(entry.device.name);
    const info = entry.info;
    if (info.isSpace) {
      const longName = this.i18n.ifcName(info.longName).text;
      return longName && info.name && longName !== info.name ? `${longName} (${info.name})` : (longName || info.name);
    }
    return this.i18n.local(info.name) || info.guid;
  }

  show() {
    const results = this.results();
    this.list.replaceChildren(...results.map((entry) => {
      const storeyName = this.model.storeyByGuid.get(this.model.info.get(entry.guid)?.storey)?.name;
      const storey = storeyName ? this.i18n.ifcName(storeyName, 'storey').text : '';
      // A room's IFC name, when the result shows a Chinese rendering of it, ends the second line.
      const ifc = entry.kind === 'room' ? this.i18n.ifcName(entry.info.longName).ifc : null;
      const button = el('button', { type: 'button', 'data-guid': entry.guid },
        el('span', { class: 'name' }, this.label(entry)),
        el('span', { class: 'where' }, [this.i18n.t(`search.${entry.kind}`), storey, ifc].filter(Boolean).join(' · ')));
      button.addEventListener('click', () => this.choose(entry.guid));
      return el('li', {}, button);
    }));
    if (!results.length && this.input.value.trim()) this.list.append(el('li', { class: 'empty' }, this.i18n.t('search.none')));
    this.list.hidden = !this.input.value.trim();
  }

  choose(guid) {
    this.list.hidden = true;
    this.onPick(guid);
  }
}
