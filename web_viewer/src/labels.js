// Room labels of the storey plan: name and number at the middle of each room, hidden where they would overlap
// a label already placed (larger rooms first).
const MARKER_GAP_PX = 3; // between a marker and a label moved out from under it

export class RoomLabels {
  // obstacles(): page rectangles {x, y, width, height} of what a label must not cover (the device markers: a
  // device bound to a room has its marker at the room's middle, where its label would be)
  constructor(layer, model, stage, i18n, obstacles = () => []) {
    Object.assign(this, { layer, model, stage, i18n, obstacles });
    this.shown = false;
    this.items = []; // {guid, element, point, area}
  }

  setShown(shown) {
    this.shown = shown;
    this.refresh();
  }

  // The rooms of the shown storey (after a storey, language or tint change).
  refresh() {
    this.layer.replaceChildren();
    this.items = [];
    this.layer.hidden = !this.shown;
    if (!this.shown) return;
    for (const [guid, footprint] of this.model.footprints) {
      const info = this.model.info.get(guid);
      if (!this.model.isVisible(guid)) continue;
      const [x, y, area] = centroid(footprint.ring);
      const point = this.model.toGltf([x, y, footprint.floor]);
      const element = document.createElement('div');
      element.className = 'room-label';
      element.dataset.guid = guid;
      // The room's name (a Chinese rendering of an English one on the Chinese page), then its number and the
      // IFC name that the rendering replaced.
      const { text: longName, ifc } = this.i18n.ifcName(info.longName);
      const name = document.createElement('b');
      name.textContent = longName || info.name || '';
      element.append(name);
      const second = [longName && info.name !== longName ? info.name : '', ifc].filter(Boolean).join(' · ');
      if (second) {
        const number = document.createElement('span');
        number.textContent = second;
        element.append(number);
      }
      this.layer.append(element);
      this.items.push({ guid, element, point, area });
    }
    // Measured once, all shown: a label hidden by the last frame has no size to read.
    for (const item of this.items) {
      const size = item.element.getBoundingClientRect();
      Object.assign(item, { width: Math.ceil(size.width), height: Math.ceil(size.height) });
    }
    this.items.sort((a, b) => b.area - a.area);
    this.stage.requestRender();
  }

  // Before each frame: follow the camera; a label that would cover another is hidden.
  update() {
    if (!this.shown) return;
    const placed = [];
    const rect = this.stage.renderer.domElement.getBoundingClientRect();
    const gap = MARKER_GAP_PX; // markers are kept clear by a small margin (labels land on whole pixels)
    const markers = this.obstacles().map((o) => ({
      x: o.x - rect.left - gap, y: o.y - rect.top - gap, width: o.width + 2 * gap, height: o.height + 2 * gap,
    }));
    for (const { element, point, width, height } of this.items) {
      const screen = this.stage.toScreen(point);
      if (!screen) { element.hidden = true; continue; }
      const box = { x: screen.x - rect.left - width / 2, y: screen.y - rect.top - height / 2, width, height };
      // Under the markers it would cover: the marker stays where the device is, the label reads below it.
      const covered = markers.filter((o) => overlaps(box, o));
      if (covered.length) box.y = Math.max(...covered.map((o) => o.y + o.height));
      const clash = placed.some((o) => overlaps(box, o)) || markers.some((o) => overlaps(box, o));
      element.hidden = clash;
      if (clash) continue;
      placed.push(box);
      element.style.transform = `translate(${Math.round(box.x)}px, ${Math.round(box.y)}px)`;
    }
  }
}

function overlaps(a, b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

// Area-weighted centroid of a ring (a label sits inside an L-shaped room's mass, not at its box's corner).
function centroid(ring) {
  let area = 0; let cx = 0; let cy = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [x0, y0] = ring[j]; const [x1, y1] = ring[i];
    const cross = x0 * y1 - x1 * y0;
    area += cross; cx += (x0 + x1) * cross; cy += (y0 + y1) * cross;
  }
  if (Math.abs(area) < 1e-9) {
    const xs = ring.map((p) => p[0]); const ys = ring.map((p) => p[1]);
    return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2, 0];
  }
  return [cx / (3 * area), cy / (3 * area), Math.abs(area / 2)];
}
