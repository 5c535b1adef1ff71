// The legend: colours of the zones present in this site and of the live device states.
import { STATE_COLOURS, UNASSIGNED_SPACE, ZONE_COLOURS, hex } from './palette.js';
import { el } from './panel.js';

const LEGEND_STATES = ['normal', 'alarm', 'stale', 'bad', 'unavailable', 'unknown'];

export function renderLegend(container, i18n, model) {
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
  container.replaceChildren(el('h3', {}, t('legend.zones')), zones, el('h3', {}, t('legend.devices')), states);
}

function item(colour, label, kind) {
  return el('li', {}, el('span', { class: `swatch ${kind}`, style: `background:${hex(colour)}` }), label);
}
