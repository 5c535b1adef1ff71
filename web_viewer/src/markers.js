// Live-state markers: a dot of constant screen size above each device, so that a small sensor on a ceiling
// still shows its state from across the hall. The device's own mesh is coloured as well (model.js).
import * as THREE from 'three';
import { STATE_COLOURS } from './palette.js';

const MARKER_SCREEN_SIZE = 0.018; // fraction of the viewport height
const LIFT = 0.25; // metres above the element's top, so the dot never hides inside a ceiling

export class DeviceMarkers {
  constructor(model, scene) {
    this.model = model;
    this.group = new THREE.Group();
    this.group.name = 'device-markers';
    scene.add(this.group);
    this.sprites = new Map(); // GlobalId -> Sprite
    this.texture = dotTexture();
  }

  setState(guid, state) {
    let sprite = this.sprites.get(guid);
    if (!sprite) {
      const box = this.model.boxOf(guid);
      if (!box || box.isEmpty()) return;
      const material = new THREE.SpriteMaterial({
        map: this.texture, sizeAttenuation: false, depthTest: false, transparent: true,
      });
      sprite = new THREE.Sprite(material);
      sprite.scale.setScalar(MARKER_SCREEN_SIZE);
      sprite.position.set((box.min.x + box.max.x) / 2, box.max.y + LIFT, (box.min.z + box.max.z) / 2);
      sprite.renderOrder = 10; // drawn last and without depth test: always visible
      sprite.userData.guid = guid;
      this.group.add(sprite);
      this.sprites.set(guid, sprite);
    }
    sprite.material.color.setHex(STATE_COLOURS[state]);
    sprite.scale.setScalar(MARKER_SCREEN_SIZE); // an alarm that cleared mid-blink returns to normal size
    sprite.userData.state = state;
    sprite.visible = this.model.isVisible(guid);
  }

  // After a storey switch: a marker shows only where its element does.
  syncVisibility() {
    for (const [guid, sprite] of this.sprites) sprite.visible = this.model.isVisible(guid);
  }

  blink(on) {
    for (const sprite of this.sprites.values()) {
      if (sprite.userData.state === 'alarm') sprite.scale.setScalar(MARKER_SCREEN_SIZE * (on ? 1.5 : 1));
    }
  }

  // The device whose marker is under the ray, if any: markers are drawn on top, so they win a click.
  pick(raycaster) {
    const visible = [...this.sprites.values()].filter((sprite) => sprite.visible);
    const hits = raycaster.intersectObjects(visible, false);
    return hits.length ? hits[0].object.userData.guid : null;
  }
}

function dotTexture() {
  const size = 64;
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext('2d');
  context.beginPath();
  context.arc(size / 2, size / 2, size / 2 - 3, 0, Math.PI * 2);
  context.fillStyle = '#ffffff';
  context.fill();
  context.lineWidth = 5;
  context.strokeStyle = 'rgba(20, 30, 45, 0.85)';
  context.stroke();
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  return texture;
}
