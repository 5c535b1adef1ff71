// Device markers: a dot of constant screen size with the pictogram of the device's kind, for every device of the
// site (and every other element a live point is bound to), coloured by its live state.
//
// Markers are drawn over the building (no depth test), so walls never swallow them; a marker that the building
// hides from the camera (one ray from the camera to it; rooms, windows and what the section cut away do not
// hide) is drawn faded, so it still says "something is there" without pretending to be in front. Markers that
// fall on one spot of the screen (a power room full of meters) are spread around it, so each can be clicked.
import * as THREE from 'three';
import { STATE_COLOURS } from './palette.js';
import { drawMarker, symbolOf } from './symbols.js';

const MARKER_SCREEN_SIZE = 0.024; // sprite scale (perspective): about 3 % of the viewport height
const PERSPECTIVE_PX = 1.2071; // 1/tan(22.5°)/2: a perspective sprite of scale s is s * this * height pixels
const LIFT = 0.25; // metres above the element's top (or above the section), so a dot never sits inside a ceiling
const FADED_OPACITY = 0.4;
const REFRESH_MS = 150; // while the camera moves, markers are re-tested at most this often
const SPREAD_GAP = 1.05; // centre distance of spread markers, in marker sizes

export class DeviceMarkers {
  // devices: SiteDevices (site.yaml names and kinds); model: HallModel
  constructor(model, scene, devices = null) {
    this.model = model;
    this.devices = devices;
    this.group = new THREE.Group();
    this.group.name = 'device-markers';
    scene.add(this.group);
    this.sprites = new Map(); // GlobalId -> Sprite
    this.textures = new Map(); // symbol -> CanvasTexture, shared by the dots of one kind of device
    this.onNewSymbol = null; // called with a symbol the first time a device of that kind gets a dot
    this.dirty = true; // states or storeys changed: test again even if the camera did not move
    this.lastView = null;
    this.lastRefresh = 0;
    this.pending = null;
    this.spread = true; // the bench's baseline turns the section features off, spreading included
  }

  // A marker for each element: created in the "unknown" state (no value yet), so every device shows at once.
  addAll(guids) {
    for (const guid of guids) if (!this.sprites.has(guid)) this.setState(guid, 'unknown');
  }

  setState(guid, state) {
    let sprite = this.sprites.get(guid);
    if (!sprite) {
      const box = this.model.boxOf(guid);
      if (!box || box.isEmpty()) return;
      sprite = this.createSprite(guid, box);
    }
    sprite.material.color.setHex(STATE_COLOURS[state]);
    this.resize(sprite, 1); // an alarm that cleared mid-blink returns to normal size
    sprite.userData.state = state;
    this.syncOne(guid, sprite);
    this.dirty = true;
  }

  symbols(visibleOnly = false) {
    const sprites = [...this.sprites.values()].filter((sprite) => !visibleOnly || sprite.visible);
    return new Set(sprites.map((sprite) => sprite.userData.symbol));
  }

  states(visibleOnly = false) {
    const sprites = [...this.sprites.values()].filter((sprite) => !visibleOnly || sprite.visible);
    return new Set(sprites.map((sprite) => sprite.userData.state));
  }

  textureOf(symbol) {
    let texture = this.textures.get(symbol);
    if (!texture) {
      texture = new THREE.CanvasTexture(drawMarker(document.createElement('canvas'), symbol));
      texture.colorSpace = THREE.SRGBColorSpace;
      this.textures.set(symbol, texture);
    }
    return texture;
  }

  symbolFor(guid) {
    const info = this.model.info.get(guid);
    return this.devices ? this.devices.symbolOf(guid, info) : symbolOf(info);
  }

  createSprite(guid, box) {
    const symbol = this.symbolFor(guid);
    const isNew = !this.textures.has(symbol);
    const sprite = new THREE.Sprite(new THREE.SpriteMaterial({
      map: this.textureOf(symbol), sizeAttenuation: false, transparent: true, depthTest: false, depthWrite: false,
    }));
    sprite.renderOrder = 10; // last, over the translucent rooms (renderOrder 1): a room never tints its dots
    sprite.userData.guid = guid;
    sprite.userData.symbol = symbol;
    sprite.userData.box = box;
    sprite.userData.offset = new THREE.Vector2(); // spread, in marker sizes
    this.place(sprite);
    this.group.add(sprite);
    this.sprites.set(guid, sprite);
    this.dirty = true;
    if (isNew) this.onNewSymbol?.(symbol);
    return sprite;
  }

  // Above the element, or just above the section when the element reaches over it (a ceiling detector in a
  // storey view): the dot stays where the plan is drawn.
  place(sprite) {
    const box = sprite.userData.box;
    const top = this.model.cutY === null ? box.max.y : Math.min(box.max.y, this.model.cutY);
    sprite.position.set((box.min.x + box.max.x) / 2, top + LIFT, (box.min.z + box.max.z) / 2);
  }

  resize(sprite, factor) {
    sprite.userData.factor = factor;
    sprite.scale.setScalar(this.baseScale * factor);
    this.anchor(sprite);
  }

  // Draw the dot ``offset`` marker sizes off its spot. The anchor is in the sprite's own size, so it is divided
  // by the blink factor: a spread alarm dot grows around its own centre instead of jumping outwards.
  anchor(sprite) {
    const { offset, factor = 1 } = sprite.userData;
    sprite.center.set(0.5 - offset.x / factor, 0.5 - offset.y / factor);
  }

  get baseScale() { return this.scaleFor ?? MARKER_SCREEN_SIZE; }

  syncOne(guid, sprite) {
    sprite.visible = this.model.isVisible(guid);
    const faded = sprite.userData.occluded ?? false;
    // An alarm behind a floor still shows strongly enough to be noticed.
    sprite.material.opacity = faded ? (sprite.userData.state === 'alarm' ? 0.7 : FADED_OPACITY) : 1;
  }

  // After a storey switch: a marker shows only where its element does, and moves under the new section.
  syncVisibility() {
    for (const [guid, sprite] of this.sprites) {
      this.place(sprite);
      this.syncOne(guid, sprite);
    }
    this.dirty = true;
  }

  // Before a frame: test the markers again when the camera moved or anything changed (throttled while moving;
  // ``requestRender`` draws once more afterwards, so the view that stays is always tested).
  beforeRender(camera, requestRender, size) {
    camera.updateMatrixWorld();
    // An orthographic camera draws a non-attenuated sprite in world units: keep the same pixel size as in 3D.
    const scale = camera.isOrthographicCamera
      ? MARKER_SCREEN_SIZE * PERSPECTIVE_PX * 2 * (camera.top - camera.bottom) / camera.zoom / 2
      : MARKER_SCREEN_SIZE;
    if (scale !== this.scaleFor) {
      this.scaleFor = scale;
      for (const sprite of this.sprites.values()) this.resize(sprite, sprite.userData.factor ?? 1);
      this.dirty = true;
    }
    const view = [...camera.matrixWorld.elements, camera.zoom ?? 1].map((v) => v.toFixed(3)).join(',');
    if (!this.dirty && view === this.lastView) return;
    const wait = this.lastRefresh + REFRESH_MS - performance.now();
    if (wait > 0 && !this.dirty) {
      if (!this.pending) this.pending = setTimeout(() => { this.pending = null; requestRender(); }, wait);
      return;
    }
    this.lastView = view;
    this.lastRefresh = performance.now();
    this.refresh(camera, size);
  }

  refresh(camera, size) {
    const occluders = this.model.visibleMeshes().filter((mesh) => this.model.hidesMarkers(mesh));
    for (const [guid, sprite] of this.sprites) {
      sprite.userData.occluded = this.model.isVisible(guid) && this.occluded(guid, camera, occluders);
      this.syncOne(guid, sprite);
    }
    this.spreadOverlaps(camera, size);
    this.dirty = false;
  }

  // Markers closer on screen than one marker are spread on a circle around their common centre.
  spreadOverlaps(camera, { width, height }) {
    const shown = [...this.sprites.values()].filter((sprite) => sprite.visible);
    for (const sprite of shown) { sprite.userData.offset.set(0, 0); this.anchor(sprite); }
    if (!this.spread || !shown.length) return;
    const px = this.markerPixels(camera, height);
    const points = shown.map((sprite) => {
      const ndc = sprite.position.clone().project(camera);
      return { sprite, x: (ndc.x * width) / 2, y: (ndc.y * height) / 2 };
    });
    const clusters = [];
    for (const point of points) {
      const cluster = clusters.find((c) => c.some((o) => Math.hypot(o.x - point.x, o.y - point.y) < px * 0.9));
      if (cluster) cluster.push(point); else clusters.push([point]);
    }
    for (const cluster of clusters) {
      if (cluster.length < 2) continue;
      cluster.sort((a, b) => a.sprite.userData.guid.localeCompare(b.sprite.userData.guid)); // stable places
      const radius = Math.max(SPREAD_GAP / (2 * Math.sin(Math.PI / cluster.length)), 0.6);
      cluster.forEach(({ sprite }, i) => {
        const angle = Math.PI / 2 + (2 * Math.PI * i) / cluster.length;
        sprite.userData.offset.set(radius * Math.cos(angle), radius * Math.sin(angle));
        this.anchor(sprite);
      });
    }
  }

  markerPixels(camera, viewportHeight) {
    if (camera.isOrthographicCamera) return this.baseScale * camera.zoom / (camera.top - camera.bottom) * viewportHeight;
    return this.baseScale * PERSPECTIVE_PX * viewportHeight;
  }

  blink(on) {
    for (const sprite of this.sprites.values()) {
      if (sprite.userData.state === 'alarm') this.resize(sprite, on ? 1.5 : 1);
    }
  }

  // Whether the building hides the marker of ``guid`` from ``camera`` (``occluders``: see HallModel.lineBlocked).
  occluded(guid, camera, occluders = null) {
    const sprite = this.sprites.get(guid);
    if (!sprite) return true;
    const from = camera.isOrthographicCamera
      ? sprite.position.clone().addScaledVector(camera.getWorldDirection(new THREE.Vector3()), -1000)
      : camera.position;
    return this.model.lineBlocked(from, sprite.position, guid, occluders);
  }

  // A marker a user can see right now: its storey is shown, it is drawn (faded or not) and on screen.
  shown(guid, camera) {
    const sprite = this.sprites.get(guid);
    if (!sprite || !sprite.visible || !this.model.isVisible(guid)) return false;
    const ndc = sprite.position.clone().project(camera);
    return Math.abs(ndc.x) <= 1 && Math.abs(ndc.y) <= 1 && ndc.z <= 1;
  }

  // The device whose marker is under the ray, if any: a marker in front before a faded one.
  pick(raycaster) {
    const shown = [...this.sprites.values()].filter((sprite) => sprite.visible);
    const hits = raycaster.intersectObjects(shown, false);
    const clear = hits.find((hit) => !hit.object.userData.occluded);
    return (clear ?? hits[0])?.object.userData.guid ?? null;
  }
}
