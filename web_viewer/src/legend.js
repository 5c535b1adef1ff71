// The legend: what is on screen now and nothing else: the zone colours (or the chosen metric's scale) of the
// rooms shown, the states of the markers shown, and the pictograms of the kinds of devices shown.
import { STATE_COLOURS, UNASSIGNED_SPACE, ZONE_COLOURS, hex } from './palette.js';
import { el } from './dom.js';
import { SYMBOLS, drawMarker } from './symbols.js';

const LEGEND_STATES = ['normal', 'alarm', 'stale', 'bad', 'unavailable', 'unknown', 'unmonitored'];
const SYMBOL_PIXELS = 36; // drawn at twice the shown size, for sharp pictograms on high-density screens

// markers: DeviceMarkers; tint: the RoomTints (its scale is shown instead of the zones when a metric is chosen)
export function renderLegend(container, i18n, model, markers = null, tint = null) {
  const t = (key) => i18n.t(key);
  const sections = [];
  const shownSpaces = [...model.info.values()].filter((info) => info.isSpace && model.isVisible(info.guid));
  if (tint?.metric && tint.metric !== 'zone') {
    sections.push(el('h3', {}, `${t('tint.title')}: ${t(`tint.${tint.metric}`)}`), tint.scaleElement());
  } else {
    const zoneTypes = new Set(shownSpaces.map((info) => model.zoneBySpace.get(info.guid)?.zone_type).filter(Boolean));
    const zones = el('ul');
    for (const type of Object.keys(ZONE_COLOURS)) {
      if (zoneTypes.has(type)) zones.append(item(ZONE_COLOURS[type], t(`zone_type.${type}`), 'zone'));
    }
    if (shownSpaces.some((info) => !model.zoneBySpace.has(info.guid))) {
      zones.append(item(UNASSIGNED_SPACE, t('legend.unassigned'), 'zone'));
    }
    if (zones.children.length) sections.push(el('h3', {}, t('legend.zones')), zones);
  }
  const shownStates = markers ? markers.states(true) : new Set();
  const states = el('ul');
  for (const state of LEGEND_STATES) {
    if (shownStates.has(state)) states.append(item(STATE_COLOURS[state], t(`state.${state}`), 'state'));
  }
  if (states.children.length) sections.push(el('h3', {}, t('legend.devices')), states);
  const symbols = markers ? markers.symbols(true) : new Set();
  const kinds = SYMBOLS.filter((symbol) => symbols.has(symbol));
  if (kinds.length) {
    const list = el('ul', { class: 'symbols', 'data-testid': 'legend-symbols' });
    for (const symbol of kinds) {
      const canvas = drawMarker(document.createElement('canvas'), symbol, SYMBOL_PIXELS);
      canvas.className = 'symbol';
      list.append(el('li', { 'data-symbol': symbol }, canvas, t(`symbol.${symbol}`)));
    }
    sections.push(el('h3', {}, t('legend.symbols')), list);
  }
  container.hidden = sections.length === 0;
  const key = sections.map((section) => section.outerHTML).join('');
  if (container.dataset.key === key) return; // unchanged: no re-layout on every camera move
  container.dataset.key = key;
  container.replaceChildren(...sections);
}

function item(colour, label, kind) {
  return el('li', {}, el('span', { class: `swatch ${kind}`, style: `background:${hex(colour)}` }), label);
}
