// The info panel: what the clicked element is, where it is, its live points and the last hour of one of them.
import { el } from './dom.js';
import { numberText } from './format.js';
import { STATE_COLOURS, hex } from './palette.js';
import { fetchTrend, trendChart } from './trend.js';

const TREND_REFRESH_MS = 30000;

export class InfoPanel {
  constructor(element, body, i18n) {
    this.element = element;
    this.body = body;
    this.i18n = i18n;
    this.guid = null;
    this.trendPoint = null; // the point whose trend is shown
    this.trend = null; // what fetchTrend returned for it (null: loading)
    this.trendTimer = null;
    this.autoTrend = false;
  }

  // context: {model, live}
  show(guid, context) {
    const changed = guid !== this.guid;
    this.guid = guid;
    this.context = context;
    if (changed) {
      this.selectTrend(null);
      this.autoTrend = true; // chosen by render() once the device's points are known (they may still be loading)
    }
    this.render();
    this.element.hidden = false;
  }

  hide() {
    this.guid = null;
    this.selectTrend(null);
    this.element.hidden = true;
    this.body.replaceChildren();
  }

  // A device opens with the trend of its first measured analog point (a setpoint is mostly a flat line): the
  // question is usually "how has it been?".
  chooseTrend(points) {
    const analog = points.map((entry) => entry.point).filter((point) => point.kind === 'analog');
    if (!analog.length) return;
    this.autoTrend = false;
    this.selectTrend((analog.find((point) => !point.writable) ?? analog[0]).id);
  }

  selectTrend(pointId) {
    clearInterval(this.trendTimer);
    this.trendTimer = null;
    this.trendPoint = pointId;
    this.trend = null;
    if (!pointId) return;
    this.loadTrend();
    this.trendTimer = setInterval(() => this.loadTrend(), TREND_REFRESH_MS);
  }

  async loadTrend() {
    const pointId = this.trendPoint;
    const trend = await fetchTrend(pointId);
    if (pointId !== this.trendPoint) return; // another point was chosen meanwhile
    this.trend = trend;
    this.render();
  }

  render() {
    if (!this.guid) return;
    const { model, live } = this.context;
    const t = (key) => this.i18n.t(key);
    const info = model.info.get(this.guid);
    const rows = [];
    const device = this.context.devices?.deviceAt(this.guid) ?? null;
    const ifcLabel = this.i18n.has(`ifc.${info.ifcClass}`) ? `${t(`ifc.${info.ifcClass}`)} · ${info.ifcClass}` : info.ifcClass;
    // The integrator's meaning first: the site.yaml name and kind; the IFC name and class are the second lines.
    if (device) {
      rows.push(['panel.kind', this.i18n.has(`kind.${device.kind}`) ? t(`kind.${device.kind}`) : device.kind]);
      if (info.name && !info.isSpace) rows.push(['panel.ifc_name', this.i18n.local(info.name)]);
    }
    rows.push(['panel.class', ifcLabel]);
    const space = info.space && !info.isSpace ? model.info.get(info.space) : null;
    if (space) rows.push(['panel.room', twoLines(this.roomLabel(space), this.i18n.ifcName(space.longName).ifc)]);
    // A room's own IFC name under its Chinese rendering (the title): what the model calls it is not lost.
    const ownIfc = info.isSpace ? this.i18n.ifcName(info.longName).ifc : null;
    if (ownIfc) rows.push(['panel.ifc_name', ownIfc]);
    const storey = info.storey ? model.storeyByGuid.get(info.storey) : null;
    const storeyName = storey ? this.i18n.ifcName(storey.name, 'storey') : null;
    rows.push(['panel.storey', storeyName ? twoLines(storeyName.text, storeyName.ifc) : t('panel.none')]);
    const zone = model.zoneBySpace.get(info.isSpace ? info.guid : info.space);
    if (zone) {
      const zoneName = this.i18n.name(zone.name);
      const zoneType = t(`zone_type.${zone.zone_type}`);
      // "一层等候区" already says "等候区": the type is added only when the name does not tell it.
      const told = zoneName.toLowerCase().includes(zoneType.toLowerCase());
      rows.push(['panel.zone', told ? zoneName : `${zoneName} · ${zoneType}`]);
    }
    rows.push(['panel.guid', info.guid]);

    const ifcName = info.isSpace ? this.roomLabel(info) : (this.i18n.local(info.name) || t('panel.unnamed'));
    const name = device ? this.i18n.name(device.name) : ifcName;
    const title = el('h2', { 'data-testid': 'info-name' }, name);
    const list = el('dl');
    for (const [key, value] of rows) list.append(el('dt', {}, t(key)), el('dd', { 'data-field': key }, value));
    const parts = [title, list];

    const points = live ? live.pointsOf(this.guid) : [];
    if (this.autoTrend) this.chooseTrend(points);
    if (points.length) {
      const state = live.elementState(this.guid);
      parts.push(el('p', { class: 'device-state', 'data-testid': 'info-state', 'data-state': state },
        chip(state), `${t('panel.state')}: ${t(`state.${state}`)}`));
      const table = el('table', { class: 'points', 'data-testid': 'info-points' });
      table.append(el('caption', {}, t('panel.points')));
      for (const { point, sample, state: pointState } of points) {
        const row = el('tr', { 'data-point': point.id, 'data-state': pointState },
          el('td', {}, chip(pointState)),
          el('td', {}, this.pointLabel(point)),
          el('td', { class: 'value' }, this.formatValue(sample, point)),
          el('td', { class: 'quality' }, sample ? t(`quality.${sample.q}`) : t('state.unknown')));
        if (point.kind === 'analog') this.makeTrendable(row, point.id);
        table.append(row);
        // Why a value is not good (the device's answer, a timeout...), from the gateway as it said it.
        if (sample && sample.r && sample.q !== 'GOOD') {
          table.append(el('tr', { class: 'reason-row', 'data-reason-for': point.id },
            el('td', {}),
            el('td', { class: 'reason', colspan: '3', 'data-testid': 'point-reason' },
              el('span', { class: 'reason-label' }, t('panel.reason')), sample.r)));
        }
      }
      parts.push(table);
      const trendPoint = points.find((entry) => entry.point.id === this.trendPoint)?.point;
      if (trendPoint) parts.push(this.trendSection(trendPoint));
    }
    this.body.replaceChildren(...parts);
  }

  makeTrendable(row, pointId) {
    const selected = pointId === this.trendPoint;
    row.classList.add('trendable');
    row.setAttribute('tabindex', '0');
    row.setAttribute('role', 'button');
    row.setAttribute('aria-pressed', String(selected));
    row.title = this.i18n.t('trend.show');
    const choose = () => { if (!selected) { this.selectTrend(pointId); this.render(); } };
    row.addEventListener('click', choose);
    row.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); choose(); }
    });
  }

  trendSection(point) {
    const t = (key) => this.i18n.t(key);
    const section = el('section', { class: 'trend', 'data-testid': 'trend', 'data-point': point.id });
    section.append(el('h3', {}, `${t('trend.title')} · ${this.pointLabel(point)}`));
    const trend = this.trend;
    if (!trend) {
      section.dataset.status = 'loading';
      section.append(el('p', { class: 'trend-note' }, t('trend.loading')));
    } else if (trend.status !== 'ok') {
      section.dataset.status = trend.status;
      section.append(el('p', { class: 'trend-note' }, t(`trend.${trend.status}`)));
    } else {
      section.dataset.status = 'ok';
      const clock = new Intl.DateTimeFormat(this.i18n.lang, { hour: '2-digit', minute: '2-digit' });
      const format = (v) => this.formatValue({ v }, point);
      section.append(trendChart(trend, format, (ts) => clock.format(new Date(ts * 1000))));
    }
    return section;
  }

  // The gateway names a device's communication-loss point after the device; in the device's own panel that
  // repeats the title, so it is called by what it is.
  pointLabel(point) {
    if (point.id.endsWith('.comm_lost')) return this.i18n.t('point.comm_lost');
    return this.i18n.name(point.name) || point.id;
  }

  roomLabel(space) {
    const longName = this.i18n.ifcName(space.longName).text;
    if (longName && space.name && longName !== space.name) return `${longName} (${space.name})`;
    return longName || space.name || space.guid;
  }

  formatValue(sample, point) {
    const t = (key) => this.i18n.t(key);
    if (!sample || sample.v === null || sample.v === undefined) return t('value.none');
    if (typeof sample.v === 'boolean') return t(sample.v ? 'value.true' : 'value.false');
    // A multistate value n is the n-th name of the point's states (1-based), when the server lists them.
    const stateName = point.kind === 'multistate' && Array.isArray(point.states) ? point.states[sample.v - 1] : null;
    if (stateName) return this.i18n.has(`multistate.${stateName}`) ? t(`multistate.${stateName}`) : stateName;
    if (typeof sample.v === 'number') {
      const precision = this.context?.devices?.precisionOf(point.id) ?? null;
      return numberText(sample.v, { unit: point.unit, precision }, this.i18n.lang);
    }
    return String(sample.v);
  }
}

// A value with the IFC name it renders on a second line (ifc null: the value alone).
function twoLines(text, ifc) {
  if (!ifc) return text;
  const both = document.createDocumentFragment();
  both.append(text, el('span', { class: 'ifc-name' }, ifc));
  return both;
}

function chip(state) {
  return el('span', { class: 'chip', style: `background:${hex(STATE_COLOURS[state])}` });
}
