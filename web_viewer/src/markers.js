// Live-state markers: a dot of constant screen size above each device, so that a small sensor on a ceiling
// still shows its state from across the hall. The device's own mesh is coloured as well (model.js).
//
// A dot shows only where the building does not hide it: a ground-floor dot does not show through the upper floor
// in the "all storeys" view, where it would sit over the wrong room. The test is one ray from the camera to the
// dot's centre (rooms, windows and other translucent parts do not hide), so a dot is drawn whole or not at all:
// a depth test per pixel would cut dots in half along every wall top. An alarm must still be noticed from any
// view, so a hidden device in alarm shows a faint ghost of its dot through the floor.
import * as THREE from 'three';
import { STATE_COLOURS } from './palette.js';
import { drawMarker, symbolOf } from './symbols.js';

const MARKER_SCREEN_SIZE = 0.024; // fraction of the viewport height: a pictogram on the dot must stay legible
const LIFT = 0.25; // metres above the element's top, so the dot never hides inside a ceiling
const GHOST_OPACITY = 0.35;
const REFRESH_MS = 150; // while the camera moves, dots are re-tested at most this often (about 10 ms for 100 dots)

export class DeviceMarkers {
  constructor(model, scene) {
    this.model = model;
    this.group = new THREE.Group();
    this.group.name = 'device-markers';
    scene.add(this.group);
    this.sprites = new Map(); // GlobalId -> Sprite (its ghost in userData.ghost)
    this.textures = new Map(); // symbol -> CanvasTexture, shared by the dots of one kind of device
    this.onNewSymbol = null; // called with a symbol the first time a device of that kind gets a dot
    this.dirty = true; // states or storeys changed: test again even if the camera did not move
    this.lastView = null;
    this.lastRefresh = 0;
    this.pending = null;
  }

  setState(guid, state) {
    let sprite = this.sprites.get(guid);
    if (!sprite) {
      const box = this.model.boxOf(guid);
      if (!box || box.isEmpty()) return;
      sprite = this.createSprite(guid, box);
    }
    sprite.material.color.setHex(STATE_COLOURS[state]);
    sprite.userData.ghost.material.color.setHex(STATE_COLOURS[state]);
    this.resize(sprite, 1); // an alarm that cleared mid-blink returns to normal size
    sprite.userData.state = state;
    this.syncOne(guid, sprite);
  }

  symbols() {
    return new Set([...this.sprites.values()].map((sprite) => sprite.userData.symbol));
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

  createSprite(guid, box) {
    const symbol = symbolOf(this.model.info.get(guid));
    const isNew = !this.textures.has(symbol);
    const texture = this.textureOf(symbol);
    const position = new THREE.Vector3((box.min.x + box.max.x) / 2, box.max.y + LIFT, (box.min.z + box.max.z) / 2);
    const sprite = new THREE.Sprite(new THREE.SpriteMaterial({
      map: texture, sizeAttenuation: false, transparent: true, depthTest: false, depthWrite: false,
    }));
    sprite.position.copy(position);
    sprite.renderOrder = 10; // last, over the translucent rooms (renderOrder 1): a room never tints its dots
    sprite.userData.guid = guid;
    sprite.userData.symbol = symbol;
    const ghost = new THREE.Sprite(new THREE.SpriteMaterial({
      map: texture, sizeAttenuation: false, transparent: true, opacity: GHOST_OPACITY,
      depthTest: false, depthWrite: false,
    }));
    ghost.position.copy(position);
    ghost.renderOrder = 9;
    ghost.userData.guid = guid;
    sprite.userData.ghost = ghost;
    this.group.add(ghost, sprite);
    this.sprites.set(guid, sprite);
    this.dirty = true; // not tested yet
    if (isNew) this.onNewSymbol?.(symbol);
    return sprite;
  }

  resize(sprite, factor) {
    sprite.scale.setScalar(MARKER_SCREEN_SIZE * factor);
    sprite.userData.ghost.scale.setScalar(MARKER_SCREEN_SIZE * factor);
  }

  syncOne(guid, sprite) {
    const onStorey = this.model.isVisible(guid);
    const hidden = sprite.userData.occluded ?? false;
    sprite.visible = onStorey && !hidden;
    sprite.userData.ghost.visible = onStorey && hidden && sprite.userData.state === 'alarm';
  }

  // After a storey switch: a marker shows only where its element does.
  syncVisibility() {
    for (const [guid, sprite] of this.sprites) this.syncOne(guid, sprite);
    this.dirty = true;
  }

  // Before a frame: test the dots again when the camera moved or anything changed (throttled while moving;
  // ``requestRender`` draws once more afterwards, so the view that stays is always tested).
  beforeRender(camera, requestRender) {
    camera.updateMatrixWorld();
    const view = [...camera.matrixWorld.elements].map((v) => v.toFixed(3)).join(',');
    if (!this.dirty && view === this.lastView) return;
    const wait = this.lastRefresh + REFRESH_MS - performance.now();
    if (wait > 0 && !this.dirty) { // a storey switch or a new dot is tested at once; a moving camera is throttled
      if (!this.pending) this.pending = setTimeout(() => { this.pending = null; requestRender(); }, wait);
      return;
    }
    this.lastView = view;
    this.lastRefresh = performance.now();
    this.refreshOcclusion(camera);
  }

  refreshOcclusion(camera) {
    const occluders = this.model.visibleMeshes().filter((mesh) => this.model.hidesMarkers(mesh));
    for (const [guid, sprite] of this.sprites) {
      sprite.userData.occluded = this.model.isVisible(guid) && this.occluded(guid, camera, occluders);
      this.syncOne(guid, sprite);
    }
    this.dirty = false;
  }

  blink(on) {
    for (const sprite of this.sprites.values()) {
      if (sprite.userData.state === 'alarm') this.resize(sprite, on ? 1.5 : 1);
    }
  }

  // Whether the building hides the dot of ``guid`` from ``camera`` (``occluders``: see HallModel.lineBlocked).
  occluded(guid, camera, occluders = null) {
    const sprite = this.sprites.get(guid);
    return !sprite || this.model.lineBlocked(camera.position, sprite.position, guid, occluders);
  }

  // A dot a user can see right now: its storey is shown and no wall or floor is in front of it.
  shown(guid, camera) {
    const sprite = this.sprites.get(guid);
    return Boolean(sprite) && this.model.isVisible(guid) && !this.occluded(guid, camera);
  }

  // The device whose dot is under the ray, if any. A dot hidden behind the building cannot be clicked; tested
  // now rather than read from the last frame, which may be from before a storey switch.
  pick(raycaster, camera) {
    const onStorey = [...this.sprites.values()].filter((sprite) => this.model.isVisible(sprite.userData.guid));
    for (const hit of raycaster.intersectObjects(onStorey, false)) {
      if (!this.occluded(hit.object.userData.guid, camera)) return hit.object.userData.guid;
    }
    return null;
  }
}
