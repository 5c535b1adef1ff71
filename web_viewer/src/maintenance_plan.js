// Where a work order is, as a small floor plan: the rooms of its storey from the model's footprints
// (/api/model/elements), its room filled, its device or element marked. SVG, so a phone draws it at once
// without loading the 3D model.
const SVG = 'http://www.w3.org/2000/svg';
const MARGIN_M = 1.5;

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

// Even-odd ray test of a point in a footprint ring.
function inside(ring, [x, y]) {
  let within = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) within = !within;
  }
  return within;
}

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
    const xs = rooms.flatMap((r) => r.footprint.map((p) => p[0]));
    const ys = rooms.flatMap((r) => r.footprint.map((p) => p[1]));
    const [minX, maxX, minY, maxY] = [Math.min(...xs) - MARGIN_M, Math.max(...xs) + MARGIN_M, Math.min(...ys) - MARGIN_M, Math.max(...ys) + MARGIN_M];
    const flip = (y) => maxY + minY - y; // IFC Y points north (up); SVG y points down
    const root = svg('svg', { viewBox: `${minX} ${minY} ${maxX - minX} ${maxY - minY}`, class: 'floor-plan', role: 'img', 'data-testid': 'floor-plan', 'data-storey': place.storey });
    const fontSize = Math.max(0.6, Math.min(1.2, (maxX - minX) / 45));
    for (const room of rooms) {
      const target = room.guid === place.space;
      root.append(svg('polygon', {
        points: room.footprint.map(([x, y]) => `${x},${flip(y)}`).join(' '),
        class: target ? 'room target' : 'room', 'data-space': room.guid,
      }));
    }
    for (const room of rooms) { // labels over every room's fill
      const cx = room.footprint.reduce((sum, p) => sum + p[0], 0) / room.footprint.length;
      const cy = room.footprint.reduce((sum, p) => sum + p[1], 0) / room.footprint.length;
      const label = svg('text', { x: cx, y: flip(cy), 'font-size': fontSize, class: room.guid === place.space ? 'label target' : 'label', 'text-anchor': 'middle', 'dominant-baseline': 'middle' });
      label.textContent = roomName(room);
      root.append(label);
    }
    if (place.point) {
      const [x, y] = place.point;
      root.append(svg('circle', { cx: x, cy: flip(y), r: fontSize * 1.1, class: 'spot-halo' }));
      root.append(svg('circle', { cx: x, cy: flip(y), r: fontSize * 0.55, class: 'spot', 'data-testid': 'plan-spot' }));
    }
    return root;
  }

  storeyName(guid) { return this.storeys.get(guid)?.name ?? ''; }
}
