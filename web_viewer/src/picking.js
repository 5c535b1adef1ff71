// Clicking the building: which element is under the pointer.
import * as THREE from 'three';

// Rooms are translucent volumes: what is seen through a room (a device, a door, a wall) is what a click picks,
// except the floor or ceiling under it, which is where a user clicks to mean the room itself.
const ROOM_SURFACES = /^(IfcSlab|IfcCovering|IfcRoof|IfcSite)/;

export class Picker {
  constructor(stage, model, markers) {
    this.stage = stage;
    this.model = model;
    this.markers = markers;
    this.raycaster = new THREE.Raycaster();
  }

  pickAt(clientX, clientY) {
    this.raycaster.setFromCamera(this.stage.toNdc(clientX, clientY), this.stage.camera);
    const marked = this.markers?.pick(this.raycaster, this.stage.camera);
    if (marked) return marked;
    const hits = this.raycaster.intersectObjects(this.model.visibleMeshes(), false);
    const info = (hit) => this.model.info.get(this.model.guidOf(hit.object));
    const solid = hits.find((hit) => !info(hit)?.isSpace);
    const room = hits.find((hit) => info(hit)?.isSpace && (!solid || hit.distance < solid.distance));
    if (room && (!solid || ROOM_SURFACES.test(info(solid)?.ifcClass ?? ''))) return this.model.guidOf(room.object);
    return solid ? this.model.guidOf(solid.object) : null;
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
