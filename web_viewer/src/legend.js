// The legend: colours of the zones present in this site, the live device states, and the pictograms of the
// kinds of devices that have a dot.
import { STATE_COLOURS, UNASSIGNED_SPACE, ZONE_COLOURS, hex } from './palette.js';
import { el } from './panel.js';
import { SYMBOLS, drawMarker } from './symbols.js';

const LEGEND_STATES = ['normal', 'alarm', 'stale', 'bad', 'unavailable', 'unknown'];
const SYMBOL_PIXELS = 36; // drawn at twice the shown size, for sharp pictograms on high-density screens

// ``symbols``: the Set of device symbols on the twin (none: the section is left out).
export function renderLegend(container, i18n, model, symbols = new Set()) {
  const t = (key) => i18n.t(key);
  const zoneTypes = new Set([...model.zoneBySpace.values()].map((zone) => zone.zone_type));
  const zones = el('ul');
  for (const type of Object.keys(ZONE_COLOURS)) {
    if (zoneTypes.has(type)) zones.append(item(ZONE_COLOURS[type], t(`zone_type.${type}`), 'zone'));
  }
  const hasUnassigned = [...model.info.values()].some((info) => info.isSpace && !model.zoneBySpace.has(info.guid));
  if (hasUnassigned) zones.append(item(UNASSIGNED_SPACE, t('legend.unassigned'), 'zone'));
  const states = el('ul');
  for (const state of LEGEND_STATES) states.append(item(STATE_COLOURS[state], t(`state.${state}`), 'state'));
  const sections = [el('h3', {}, t('legend.zones')), zones, el('h3', {}, t('legend.devices')), states];
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
  container.replaceChildren(...sections);
}

function item(colour, label, kind) {
  return el('li', {}, el('span', { class: `swatch ${kind}`, style: `background:${hex(colour)}` }), label);
}
