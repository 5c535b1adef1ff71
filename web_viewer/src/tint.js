// Rooms tinted by a metric: the live value of the room's temperature, humidity, occupancy or power points, or
// how many of its points are in alarm, on a colour scale with its legend. Which points count is read from the
// site (Brick class, unit, device kind); a point counts for the room it is bound to (a space, every space of an
// IfcZone) or the room its device's element stands in.
import * as THREE from 'three';
import { numberText } from './format.js';
import { el } from './dom.js';

export const METRICS = ['zone', 'temperature', 'humidity', 'occupancy', 'power', 'alarms'];
// [low colour, high colour, fixed range or null (the values' own range)]
const SCALES = {
  temperature: { colours: [0x2c7bb6, 0xd7191c], range: [16, 30], unit: 'degC' },
  humidity: { colours: [0xf4d06f, 0x2166ac], range: [20, 80], unit: '%' },
  occupancy: { colours: [0xdbe9f6, 0x08306b], range: null, unit: '' },
  power: { colours: [0xfff3b0, 0xd9480f], range: null, unit: 'kW' },
  alarms: { colours: [0x2e9e4f, 0xe02424], range: [0, 1], unit: '' },
};

function measures(metric, point, brick, device) {
  const unit = String(point.unit ?? '');
  const text = `${brick} ${point.id}`.toLowerCase();
  if (point.kind !== 'analog') return false;
  if (metric === 'temperature') return /temperature/.test(text) || /^deg[cf]$/i.test(unit);
  if (metric === 'humidity') return /humidity/.test(text) || /%rh/i.test(unit);
  if (metric === 'occupancy') return /occupancy|count|people/.test(text) || device?.kind === 'people_counter';
  if (metric === 'power') return /power/.test(text) && /w$/i.test(unit);
  return false;
}

export class RoomTints {
  constructor(model, devices, i18n) {
    this.model = model;
    this.devices = devices;
    this.i18n = i18n;
    this.metric = 'zone';
    this.range = [0, 1];
    this.values = new Map(); // space -> value
  }

  // The spaces a point speaks for.
  spacesOfPoint(point) {
    const direct = this.model.spacesOf(point.ifc_guid);
    if (direct.length) return direct;
    const space = this.model.info.get(point.ifc_guid)?.space;
    return space ? [space] : [];
  }

  // Recompute the tints from ``live`` (LiveData); returns whether anything is tinted by a metric.
  update(live) {
    if (this.metric === 'zone' || !live) {
      this.model.setTints(null);
      return false;
    }
    const sums = new Map();
    for (const [id, point] of live.points) {
      const sample = live.samples.get(id);
      const spaces = this.spacesOfPoint(point);
      if (!spaces.length) continue;
      let value = null;
      if (this.metric === 'alarms') {
        value = live.pointsOf(point.ifc_guid).find((entry) => entry.point.id === id)?.state === 'alarm' ? 1 : 0;
      } else if (measures(this.metric, point, this.devices.brickOf(id), this.devices.deviceOfPoint(id))) {
        if (typeof sample?.v === 'number' && (sample.q === 'GOOD' || sample.q === 'STALE')) value = sample.v;
      }
      if (value === null) continue;
      for (const space of spaces) {
        const entry = sums.get(space) ?? { sum: 0, n: 0 };
        entry.sum += value; entry.n += 1;
        sums.set(space, entry);
      }
    }
    // Temperature and humidity average a room's sensors; occupancy, power and alarms add up.
    const average = this.metric === 'temperature' || this.metric === 'humidity';
    this.values = new Map([...sums].map(([space, { sum, n }]) => [space, average ? sum / n : sum]));
    const scale = SCALES[this.metric];
    const values = [...this.values.values()];
    this.range = scale.range ?? [Math.min(0, ...values), Math.max(1, ...values)];
    if (this.metric === 'alarms') this.range = [0, Math.max(1, ...values)];
    const tints = new Map([...this.values].map(([space, value]) => [space, this.colourOf(value)]));
    this.model.setTints(tints);
    return true;
  }

  colourOf(value) {
    const [low, high] = SCALES[this.metric].colours;
    const [min, max] = this.range;
    const t = THREE.MathUtils.clamp((value - min) / (max - min || 1), 0, 1);
    return new THREE.Color(low).lerp(new THREE.Color(high), t).getHex();
  }

  scaleElement() {
    const scale = SCALES[this.metric];
    const [low, high] = scale.colours.map((c) => `#${c.toString(16).padStart(6, '0')}`);
    const lang = this.i18n.lang;
    const label = (v) => numberText(v, { unit: scale.unit, precision: this.metric === 'alarms' ? 0 : null }, lang);
    return el('div', { class: 'tint-scale', 'data-testid': 'tint-scale' },
      el('span', { class: 'ramp', style: `background:linear-gradient(90deg, ${low}, ${high})` }),
      el('span', { class: 'ends' }, el('span', {}, label(this.range[0])), el('span', {}, label(this.range[1]))),
      el('span', { class: 'note' }, `${this.values.size} ${this.i18n.t('tint.rooms_with_value')}`));
  }
}
