// The hall's zones by floor on the visitor page, with what each zone is for (DB31/T 862 4.3); a tap on a zone shows
// where it is in the model, with a button that routes there.
import * as THREE from 'three';
import { el } from './dom.js';
import { ZONE_COLOURS, hex } from './palette.js';

// Zones a visitor comes for, in the order of a visit; the rest are listed folded away.
const VISITOR_TYPES = [
  'guidance', 'window_service', 'waiting', 'convenience', 'self_service', 'self_service_24h', 'toilet', 'mother_baby',
];
const STAFF_ONLY = new Set(['office', 'power_room', 'server_room', 'weak_current']);
const UNPLACED = 'unplaced';
const OUTLINE = 0x1d2733;

export function isVisitorZone(zone) { return VISITOR_TYPES.includes(zone.zone_type); }

export class ZoneBrowser {
  // parts: {floorsNav, zonesBox, caption, wholeHall}; model/stage may be null (no picture); routeTo(zone): the
  // caption's "take me there" (null: none); hall(): the hall's name
  constructor(i18n, zones, model, stage, parts, routeTo, hall) {
    this.i18n = i18n;
    this.zones = zones;
    this.model = model;
    this.stage = stage;
    this.parts = parts;
    this.routeTo = routeTo;
    this.hall = hall;
    this.selected = null;
    this.floor = 'all';
    this.floors = model ? model.storeys : [];
    if (model) {
      this.outline = new THREE.BoxHelper(undefined, 0x1565c0);
      this.outline.visible = false;
      stage.scene.add(this.outline);
    }
    parts.wholeHall.addEventListener('click', () => { this.select(null); });
  }

  t(key) { return this.i18n.t(key); }

  floorOf(zone) { return this.model?.info.get(zone.ifc_guid)?.storey ?? UNPLACED; }

  floorName(guid) { return this.i18n.ifcName(this.model?.storeyByGuid.get(guid)?.name ?? '', 'storey').text || guid; }

  ids() { return [...this.parts.zonesBox.querySelectorAll('[data-zone]')].map((card) => card.dataset.zone); }

  select(zoneId) {
    const zone = this.zones.find((z) => z.id === zoneId) ?? null;
    this.selected = zone ? zone.id : null;
    for (const card of this.parts.zonesBox.querySelectorAll('[data-zone]')) {
      card.setAttribute('aria-pressed', String(card.dataset.zone === this.selected));
    }
    this.showCaption();
    if (!this.model) return Boolean(zone);
    this.parts.wholeHall.hidden = !zone;
    const node = zone ? this.model.nodes.get(zone.ifc_guid) : null;
    if (!zone || !node) {
      this.outline.visible = false;
      this.model.setStorey(this.floor);
      this.stage.flyHome();
      return Boolean(zone);
    }
    // Its own floor alone: from above, the floor over it would hide the room.
    const storey = this.floorOf(zone);
    if (storey !== UNPLACED) this.model.setStorey(storey);
    this.outline.setFromObject(node);
    this.outline.material.color.setHex(OUTLINE); // dark: it must stand out on every zone colour
    this.outline.visible = true;
    this.stage.focus(this.model.boxOf(zone.ifc_guid));
    this.stage.requestRender();
    return true;
  }

  // Leave the zone view (a route takes the model over).
  release() {
    this.selected = null;
    if (this.outline) this.outline.visible = false;
    this.parts.wholeHall.hidden = true;
    this.showCaption();
    for (const card of this.parts.zonesBox.querySelectorAll('[aria-pressed="true"]')) card.setAttribute('aria-pressed', 'false');
  }

  // What the model shows now: the chosen zone and its floor, and a button to go there.
  showCaption() {
    const { caption } = this.parts;
    const zone = this.zones.find((z) => z.id === this.selected);
    caption.hidden = !zone;
    if (!zone) return;
    const floor = this.floorOf(zone);
    caption.replaceChildren(this.i18n.name(zone.name));
    if (floor !== UNPLACED) caption.append(el('small', {}, this.floorName(floor)));
    if (this.routeTo && !STAFF_ONLY.has(zone.zone_type)) {
      const go = el('button', { type: 'button', class: 'take-me', 'data-testid': 'take-me' }, this.t('visitor.take_me'));
      go.addEventListener('click', () => this.routeTo(zone));
      caption.append(go);
    }
  }

  showFloor(floor) {
    this.floor = floor;
    this.selected = null;
    this.showCaption();
    if (this.model) {
      this.outline.visible = false;
      this.parts.wholeHall.hidden = true;
      this.model.setStorey(floor);
      this.stage.flyHome();
    }
    this.render();
  }

  card(zone) {
    const type = zone.zone_type;
    const label = this.i18n.has(`zone_type.${type}`) ? this.t(`zone_type.${type}`) : type;
    const button = el('button', {
      type: 'button', class: `zone${STAFF_ONLY.has(type) ? ' staff' : ''}`, 'data-zone': zone.id, 'data-type': type,
      'aria-pressed': String(zone.id === this.selected),
    },
    el('span', { class: 'swatch', style: `background:${hex(ZONE_COLOURS[type] ?? ZONE_COLOURS.other)}` }),
    el('span', { class: 'zone-name' }, this.i18n.name(zone.name)),
    el('span', { class: 'zone-type' }, label),
    // What the zone is for, unless its type already says it (a toilet is a toilet).
    el('span', { class: 'zone-desc' }, this.describe(type, label)));
    if (STAFF_ONLY.has(type)) button.append(el('span', { class: 'tag' }, this.t('visitor.staff_only')));
    button.addEventListener('click', () => this.select(zone.id));
    return button;
  }

  describe(type, label) {
    const text = this.i18n.has(`visitor.desc.${type}`) ? this.t(`visitor.desc.${type}`) : '';
    return text === label ? '' : text;
  }

  render() {
    const t = (key) => this.t(key);
    const { floorsNav, zonesBox } = this.parts;
    const byVisit = (a, b) => VISITOR_TYPES.indexOf(a.zone_type) - VISITOR_TYPES.indexOf(b.zone_type)
      || this.i18n.name(a.name).localeCompare(this.i18n.name(b.name));
    const chips = [['all', t('visitor.all_floors')], ...this.floors.map((f) => [f.guid, this.floorName(f.guid)])];
    floorsNav.setAttribute('aria-label', t('visitor.floors'));
    floorsNav.hidden = this.floors.length < 2;
    floorsNav.replaceChildren(...chips.map(([id, name]) => {
      const chip = el('button', { type: 'button', 'data-floor': id, 'aria-pressed': String(id === this.floor) }, name);
      chip.addEventListener('click', () => this.showFloor(id));
      return chip;
    }));
    const groups = this.floor === 'all' ? [...this.floors.map((f) => f.guid), UNPLACED] : [this.floor];
    const sections = [];
    for (const group of groups) {
      const inGroup = this.zones.filter((zone) => this.floorOf(zone) === group);
      if (!inGroup.length) continue;
      const forVisitors = inGroup.filter(isVisitorZone).sort(byVisit);
      const others = inGroup.filter((zone) => !isVisitorZone(zone)).sort(byVisit);
      const heading = group === UNPLACED ? (this.floors.length ? t('visitor.zones') : this.hall()) : this.floorName(group);
      const section = el('section', { class: 'floor-group', 'data-group': group },
        el('h3', {}, heading, el('small', {}, t('visitor.zone_count').replace('{n}', inGroup.length))));
      if (forVisitors.length) section.append(el('div', { class: 'zone-grid' }, ...forVisitors.map((z) => this.card(z))));
      if (others.length) {
        section.append(el('details', { class: 'others' },
          el('summary', {}, `${t('visitor.other_zones')} (${others.length})`),
          el('div', { class: 'zone-grid' }, ...others.map((z) => this.card(z)))));
      }
      sections.push(section);
    }
    if (!sections.length) sections.push(el('p', { class: 'empty' }, t('visitor.no_zones')));
    zonesBox.replaceChildren(...sections);
    this.showCaption();
  }
}
