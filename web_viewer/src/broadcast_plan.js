// The PA zones on floor plans (floor_plan.js), one per storey that has any: each zone's rooms in the colour of what
// plays there, the selected zones outlined, each zone named once. A click on a zone's room selects or deselects the
// zone, as its box in the list does. The plans are drawn once and then only recoloured, so a click is never lost
// to a live update.
import { el } from './dom.js';
import { area, centroid, drawRooms, fitted, label, svg, widthOf } from './floor_plan.js';

export class PaZonePlans {
  // metadata: /api/model/elements; onToggle(zone id) when a zone's room is clicked
  constructor(metadata, onToggle) {
    const spaces = (metadata?.spaces ?? []).filter((s) => Array.isArray(s.footprint) && s.footprint.length >= 3);
    this.spaces = new Map(spaces.map((s) => [s.guid, s]));
    this.storeys = metadata?.storeys ?? [];
    this.onToggle = onToggle;
    this.root = el('div', { class: 'bc-plans', 'data-testid': 'bc-plans', hidden: '' });
    this.drawnFor = null; // the zones' rooms the plans were drawn for
    this.rooms = new Map(); // zone id -> [its polygons]
    this.labels = new Map(); // zone id -> its names on the plans (one per storey it covers)
  }

  // zones: the zone states ({zone, name, spaces, playing}); selected: Set of zone ids; name(zone): its name
  update(zones, selected, name) {
    const layout = JSON.stringify(zones.map((zone) => [zone.zone, zone.spaces ?? []]));
    if (layout !== this.drawnFor) {
      this.draw(zones);
      this.drawnFor = layout;
    }
    for (const zone of zones) {
      const kind = zone.playing?.kind ?? 'idle';
      for (const polygon of this.rooms.get(zone.zone) ?? []) {
        polygon.dataset.kind = kind;
        polygon.classList.toggle('selected', selected.has(zone.zone));
        polygon.firstChild.textContent = name(zone);
      }
      for (const { node, width, size } of this.labels.get(zone.zone) ?? []) {
        node.textContent = name(zone);
        node.setAttribute('font-size', String(fitted(node.textContent, width, size)));
      }
    }
    this.root.hidden = this.rooms.size === 0;
  }

  draw(zones) {
    this.rooms = new Map();
    this.labels = new Map();
    const zoneOfSpace = new Map();
    for (const zone of zones) for (const guid of zone.spaces ?? []) if (this.spaces.has(guid)) zoneOfSpace.set(guid, zone.zone);
    const shade = new Map(zones.map((zone, i) => [zone.zone, i % 3]));
    const figures = [];
    for (const storey of this.storeys) {
      const rooms = [...this.spaces.values()].filter((space) => space.storey === storey.guid);
      if (!rooms.some((room) => zoneOfSpace.has(room.guid))) continue;
      const plan = drawRooms(rooms, { 'data-storey': storey.guid }, (attributes, room) => {
        const zone = zoneOfSpace.get(room.guid);
        // Neighbouring zones in the same state differ in shade, so that each zone's extent shows.
        if (!zone) return attributes;
        return { ...attributes, class: 'room bc-room', 'data-zone': zone, 'data-shade': shade.get(zone) };
      });
      const largest = new Map(); // zone id -> its largest room on this storey: where its name goes
      for (const polygon of plan.root.querySelectorAll('[data-zone]')) {
        const zone = polygon.dataset.zone;
        polygon.append(svg('title'));
        if (!this.rooms.has(zone)) this.rooms.set(zone, []);
        this.rooms.get(zone).push(polygon);
        const room = this.spaces.get(polygon.dataset.space);
        if (!largest.has(zone) || area(room.footprint) > area(largest.get(zone).footprint)) largest.set(zone, room);
      }
      for (const [zone, room] of largest) {
        if (!this.labels.has(zone)) this.labels.set(zone, []);
        // The plans are small beside the list: names about 1/30 of the plan's width, readable at 300 px, smaller
        // where the room is too narrow for the name.
        const size = plan.width / 30;
        const node = label(plan, centroid(room.footprint), '', 'label bc-label', size);
        this.labels.get(zone).push({ node, width: widthOf(room.footprint), size });
      }
      plan.root.addEventListener('click', (event) => {
        const zone = event.target.closest?.('[data-zone]')?.dataset.zone;
        if (zone) this.onToggle(zone);
      });
      figures.push(el('figure', { class: 'bc-plan', 'data-storey': storey.guid },
        el('figcaption', {}, storey.name ?? ''), plan.root));
    }
    this.root.replaceChildren(...figures);
  }
}
