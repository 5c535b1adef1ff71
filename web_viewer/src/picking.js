// Clicking the building: which element is under the pointer.
import * as THREE from 'three';

// Rooms are volumes that enclose their furniture and devices; a ray entering a room therefore hits the room
// first. What lies inside the room (before the ray leaves it again) wins over the room; otherwise the room.
const INSIDE_EPSILON = 1e-3;

export class Picker {
  constructor(stage, model) {
    this.stage = stage;
    this.model = model;
    this.raycaster = new THREE.Raycaster();
  }

  pickAt(clientX, clientY) {
    this.raycaster.setFromCamera(this.stage.toNdc(clientX, clientY), this.stage.camera);
    const hits = this.raycaster.intersectObjects(this.model.visibleMeshes(), false);
    if (hits.length === 0) return null;
    const first = hits[0];
    const firstGuid = this.model.guidOf(first.object);
    if (!this.model.info.get(firstGuid)?.isSpace) return firstGuid;
    const exit = hits.find((hit, i) => i > 0 && this.model.guidOf(hit.object) === firstGuid);
    const limit = exit ? exit.distance - INSIDE_EPSILON : Infinity;
    const inside = hits.find((hit) => hit.distance < limit && !this.model.info.get(this.model.guidOf(hit.object))?.isSpace);
    return inside ? this.model.guidOf(inside.object) : firstGuid;
  }

  // A page point where a click selects the element, or null: samples its projected box (tests and tours).
  screenPointOf(guid) {
    const box = this.model.boxOf(guid);
    if (!box || box.isEmpty() || !this.model.isVisible(guid)) return null;
    const centre = box.getCenter(new THREE.Vector3());
    const candidates = [centre];
    const steps = 6;
    for (let i = 0; i <= steps; i += 1) {
      for (let j = 0; j <= steps; j += 1) {
        for (const k of [0.5, 0.15, 0.85]) {
          candidates.push(new THREE.Vector3(
            THREE.MathUtils.lerp(box.min.x, box.max.x, i / steps),
            THREE.MathUtils.lerp(box.min.y, box.max.y, k),
            THREE.MathUtils.lerp(box.min.z, box.max.z, j / steps),
          ));
        }
      }
    }
    for (const point of candidates) {
      const screen = this.stage.toScreen(point);
      if (screen && this.pickAt(screen.x, screen.y) === guid) return screen;
    }
    return null;
  }
}
