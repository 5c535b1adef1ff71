// Where a work order is, as a small floor plan (floor_plan.js): the rooms of its storey, its room filled, its
// device or element marked. SVG, so a phone draws it at once without loading the 3D model.
import { centroid, drawRooms, fitted, inside, label, svg, widthOf } from './floor_plan.js';

export class FloorPlans {
  // metadata: /api/model/elements; devices: SiteDevices
  constructor(metadata, devices) {
    this.spaces = (metadata.spaces ?? []).filter((s) => Array.isArray(s.footprint) && s.footprint.length >= 3);
    this.spaceByGuid = new Map(this.spaces.map((s) => [s.guid, s]));
    this.elements = new Map((metadata.elements ?? []).map((e) => [e.guid, e]));
    this.storeys = new Map((metadata.storeys ?? []).map((s) => [s.guid, s]));
    this.devices = devices;
  }

  // {storey, space, point: [x, y] | null} of an order (or of a device / room of a QR code), or null.
  placeOf({ device = null, ifc_guid: guid = null, space_guid: spaceGuid = null }) {
    const placement = device ? this.devices.byId.get(device)?.placement : null;
    const element = guid ? this.elements.get(guid) : null;
    let point = null;
    if (placement?.min && placement?.max) point = [(placement.min[0] + placement.max[0]) / 2, (placement.min[1] + placement.max[1]) / 2];
    else if (element?.position && !this.spaceByGuid.has(guid)) point = element.position.slice(0, 2);
    let space = this.spaceByGuid.get(spaceGuid) ?? this.spaceByGuid.get(guid) ?? this.spaceByGuid.get(element?.space) ?? null;
    const storey = space?.storey ?? element?.storey ?? placement?.storey ?? null;
    // A device on a wall or ceiling names no room: the room whose footprint holds it.
    if (!space && point) space = this.spaces.find((s) => s.storey === storey && inside(s.footprint, point)) ?? null;
    if (!storey || !this.storeys.has(storey)) return null;
    return { storey, space: space?.guid ?? null, point };
  }

  // The plan as an <svg>, or null when the place is unknown; roomName(space) labels the rooms.
  draw(place, roomName) {
    if (!place) return null;
    const rooms = this.spaces.filter((s) => s.storey === place.storey);
    if (!rooms.length) return null;
    const plan = drawRooms(rooms, { role: 'img', 'data-testid': 'floor-plan', 'data-storey': place.storey },
      (attributes, room) => ({ ...attributes, class: room.guid === place.space ? 'room target' : 'room' }));
    for (const room of rooms) { // labels over every room's fill, smaller where the room is narrow for its name
      const text = roomName(room);
      label(plan, centroid(room.footprint), text, room.guid === place.space ? 'label target' : 'label',
        fitted(text, widthOf(room.footprint), plan.fontSize));
    }
    if (place.point) {
      const [x, y] = place.point;
      const { root, flip, fontSize } = plan;
      root.append(svg('circle', { cx: x, cy: flip(y), r: fontSize * 1.1, class: 'spot-halo' }));
      root.append(svg('circle', { cx: x, cy: flip(y), r: fontSize * 0.55, class: 'spot', 'data-testid': 'plan-spot' }));
    }
    return plan.root;
  }

  storeyName(guid) { return this.storeys.get(guid)?.name ?? ''; }
}
