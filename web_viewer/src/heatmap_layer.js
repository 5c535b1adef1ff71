// The crowd heatmap on the twin's floor: /api/heatmap of the storey shown (every viewable storey in the overview),
// drawn as a translucent texture just above each floor. Self-contained: it adds its own select to the top bar
// (off / now / last hour), loads its own texts (/i18n/heatmap.<lang>.json) and follows the storey filter through
// the stage's beforeRender hook. window.hallTwin.heatmap exposes it for tests.
import * as THREE from 'three';

const REFRESH_MS = 5_000;
const LIFT_M = 0.12; // above the floor and the rooms' tinted floors, below furniture
const MODES = ['off', 'live', 'hour'];
const WINDOW_MIN = { live: 0, hour: 60 };
// Blue (few) -> green -> yellow -> red (packed); alpha grows with the level so empty floor stays clear.
const RAMP = [[0, [40, 110, 255]], [0.35, [40, 200, 120]], [0.65, [255, 215, 60]], [1, [235, 45, 45]]];

function colour(level) {
  const t = level / 255;
  for (let i = 1; i < RAMP.length; i += 1) {
    const [t1, c1] = RAMP[i];
    const [t0, c0] = RAMP[i - 1];
    if (t <= t1) {
      const f = (t - t0) / (t1 - t0);
      return c0.map((v, k) => Math.round(v + (c1[k] - v) * f));
    }
  }
  return RAMP.at(-1)[1];
}

export class HeatmapLayer {
  // model: HallModel; stage: Stage; i18n: the page's I18n; anchor: the top-bar element the select goes before;
  // storeys: the storeys a user can view ([{guid, name}]).
  constructor(model, stage, i18n, anchor, storeys) {
    this.model = model;
    this.stage = stage;
    this.i18n = i18n;
    this.storeys = storeys;
    this.mode = 'off';
    this.meshes = new Map(); // storey GlobalId -> Mesh
    this.last = new Map(); // storey GlobalId -> the last /api/heatmap answer
    this.shownFilter = null;
    this.timer = null;
    this.error = null;
    this.texts = {};
    this.group = new THREE.Group();
    this.group.name = 'heatmap';
    this.group.renderOrder = 5;
    stage.scene.add(this.group);
    this.select = document.createElement('select');
    this.select.dataset.testid = 'heatmap-select';
    this.label = document.createElement('label');
    this.label.className = 'storey heatmap';
    this.label.append(this.select);
    anchor.before(this.label);
    this.select.addEventListener('change', () => this.setMode(this.select.value));
    i18n.onChange(() => this.loadTexts());
    this.loadTexts();
    stage.beforeRender.push(() => this.sync());
  }

  async loadTexts() {
    try {
      const response = await fetch(`/i18n/heatmap.${this.i18n.lang}.json`);
      this.texts = response.ok ? await response.json() : {};
    } catch { this.texts = {}; }
    this.select.title = this.t('heatmap.label');
    this.select.replaceChildren(...MODES.map((mode) => new Option(this.t(`heatmap.${mode}`), mode)));
    this.select.value = this.mode;
  }

  t(key) { return this.texts[key] ?? key; }

  // The storeys drawn: the one shown, or every viewable storey in the overview.
  wanted() {
    const filter = this.model.storeyFilter;
    return filter === 'all' ? this.storeys.map((s) => s.guid) : [filter];
  }

  sync() {
    if (this.mode === 'off' || this.model.storeyFilter === this.shownFilter) return;
    this.shownFilter = this.model.storeyFilter;
    for (const [storey, mesh] of this.meshes) mesh.visible = this.wanted().includes(storey);
    this.refresh();
  }

  setMode(mode) {
    this.mode = MODES.includes(mode) ? mode : 'off';
    this.select.value = this.mode;
    clearInterval(this.timer);
    this.timer = null;
    this.group.visible = this.mode !== 'off';
    this.shownFilter = null;
    if (this.mode !== 'off') {
      this.timer = setInterval(() => this.refresh(), REFRESH_MS);
      this.sync();
    }
    this.stage.requestRender();
  }

  async refresh() {
    const window = WINDOW_MIN[this.mode] ?? 0;
    const storeys = this.wanted();
    await Promise.all(storeys.map(async (storey) => {
      try {
        const response = await fetch(`/api/heatmap?storey=${encodeURIComponent(storey)}&window=${window}`,
          { cache: 'no-store' });
        const body = await response.json();
        if (!response.ok) { this.error = body.detail ?? `HTTP ${response.status}`; return; }
        this.error = null;
        this.last.set(storey, body);
        this.draw(storey, body);
      } catch (error) { this.error = String(error); }
    }));
    this.stage.requestRender();
  }

  draw(storey, grid) {
    const levels = Uint8Array.from(atob(grid.data), (c) => c.charCodeAt(0));
    const rgba = new Uint8Array(grid.width * grid.height * 4);
    for (let i = 0; i < levels.length; i += 1) {
      const level = levels[i];
      const [r, g, b] = colour(level);
      rgba.set([r, g, b, level === 0 ? 0 : Math.min(235, 120 + 2 * level)], i * 4);
    }
    let mesh = this.meshes.get(storey);
    if (!mesh) {
      const texture = new THREE.DataTexture(rgba, grid.width, grid.height, THREE.RGBAFormat);
      texture.magFilter = THREE.LinearFilter;
      texture.minFilter = THREE.LinearFilter;
      const material = new THREE.MeshBasicMaterial({ map: texture, transparent: true, depthWrite: false,
        side: THREE.DoubleSide });
      mesh = new THREE.Mesh(new THREE.BufferGeometry(), material);
      mesh.name = `heatmap:${storey}`;
      mesh.renderOrder = 10; // after the rooms' translucent tints
      mesh.raycast = () => {}; // never picked: clicks go to the rooms under it
      this.meshes.set(storey, mesh);
      this.group.add(mesh);
    } else if (mesh.material.map.image.width !== grid.width || mesh.material.map.image.height !== grid.height) {
      mesh.material.map.dispose();
      mesh.material.map = new THREE.DataTexture(rgba, grid.width, grid.height, THREE.RGBAFormat);
    } else {
      mesh.material.map.image.data.set(rgba);
    }
    mesh.material.map.needsUpdate = true;
    // The grid's corners in IFC metres (origin at the lowest x and y), lifted above the storey's floor.
    const z = this.model.floorOf(storey) + LIFT_M;
    const [x0, y0] = grid.origin;
    const x1 = x0 + grid.width * grid.cell;
    const y1 = y0 + grid.height * grid.cell;
    const corners = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]].map(([x, y]) => this.model.toGltf([x, y, z]));
    const positions = new Float32Array(corners.flatMap((p) => [p.x, p.y, p.z]));
    mesh.geometry.setAttribute('position', new THREE.BufferAttribute(positions, 3));
    mesh.geometry.setAttribute('uv', new THREE.BufferAttribute(new Float32Array([0, 0, 1, 0, 1, 1, 0, 1]), 2));
    mesh.geometry.setIndex([0, 1, 2, 0, 2, 3]);
    mesh.geometry.computeBoundingSphere();
    mesh.visible = this.wanted().includes(storey);
  }
}
