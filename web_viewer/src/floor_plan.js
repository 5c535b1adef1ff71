// A storey's rooms as an SVG floor plan from the model's footprints (/api/model/elements: IFC metres, north up),
// drawn at once without the 3D model. Shared by the maintenance page (where an order is) and the security desk's
// broadcast panel (the PA zones).
const SVG = 'http://www.w3.org/2000/svg';
const MARGIN_M = 1.5;

export function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

// Even-odd ray test of a point in a footprint ring.
export function inside(ring, [x, y]) {
  let within = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) within = !within;
  }
  return within;
}

export function centroid(ring) {
  return [ring.reduce((sum, p) => sum + p[0], 0) / ring.length, ring.reduce((sum, p) => sum + p[1], 0) / ring.length];
}

// Shoelace area of a footprint ring (m²).
export function area(ring) {
  let twice = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) twice += ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
  return Math.abs(twice) / 2;
}

// The plan of ``rooms`` (spaces of one storey with footprints): an <svg> with one polygon per room, made by
// room(attributes, space) from its default attributes (class 'room', data-space). Returns {root, flip, width,
// fontSize}: flip(y) turns IFC y into the plan's, width is the plan's (m), fontSize suits a plan shown large.
export function drawRooms(rooms, attributes = {}, room = (defaults) => defaults) {
  const xs = rooms.flatMap((r) => r.footprint.map((p) => p[0]));
  const ys = rooms.flatMap((r) => r.footprint.map((p) => p[1]));
  const [minX, maxX, minY, maxY] = [Math.min(...xs) - MARGIN_M, Math.max(...xs) + MARGIN_M, Math.min(...ys) - MARGIN_M, Math.max(...ys) + MARGIN_M];
  const flip = (y) => maxY + minY - y; // IFC Y points north (up); SVG y points down
  const root = svg('svg', { viewBox: `${minX} ${minY} ${maxX - minX} ${maxY - minY}`, class: 'floor-plan', ...attributes });
  const fontSize = Math.max(0.6, Math.min(1.2, (maxX - minX) / 45));
  for (const space of rooms) {
    const points = space.footprint.map(([x, y]) => `${x},${flip(y)}`).join(' ');
    root.append(svg('polygon', room({ points, class: 'room', 'data-space': space.guid }, space)));
  }
  return { root, flip, width: maxX - minX, fontSize };
}

// The font size (m) at which ``text`` fits ``width`` metres: CJK characters are about 1 em wide, others 0.6 em.
export function fitted(text, width, size) {
  let ems = 0;
  for (const char of text) ems += char.charCodeAt(0) > 0x2e80 ? 1 : 0.6;
  return Math.min(size, (0.9 * width) / Math.max(ems, 1));
}

// The east-west extent of a footprint ring (m).
export function widthOf(ring) {
  const xs = ring.map((p) => p[0]);
  return Math.max(...xs) - Math.min(...xs);
}

// A text label at (x, y) of the plan, centred, ``size`` metres high.
export function label(plan, [x, y], text, className = 'label', size = plan.fontSize) {
  const node = svg('text', {
    x, y: plan.flip(y), 'font-size': size, class: className, 'text-anchor': 'middle', 'dominant-baseline': 'middle',
  });
  node.textContent = text;
  plan.root.append(node);
  return node;
}
