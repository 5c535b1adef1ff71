// The rooms of open alarms tinted in 3D: every space of the alarm (a fire zone's IfcZone has several) gets a red
// overlay drawn over its own colour, so the zone reads at a glance whatever else tints the rooms. Overlays follow
// the storey shown and its section; those of unacknowledged alarms pulse (ISA-18.2: unacknowledged flashes).
import * as THREE from 'three';
import { marksBuilding, needsAck } from './alarm_state.js';

const ALARM_RED = 0xe02424;
const STEADY_OPACITY = 0.5;
const PULSE_MS = 1200;

export class AlarmZones {
  // model: HallModel; scene: the THREE.Scene the building is in
  constructor(model, scene) {
    this.model = model;
    this.group = new THREE.Group();
    this.group.name = 'alarm-zones';
    scene.add(this.group);
    this.overlays = new Map(); // space GlobalId -> overlay meshes
    this.pulsing = new Set(); // space GlobalIds of unacknowledged alarms
    this.material = overlayMaterial(model.clipPlanes);
    this.pulseMaterial = overlayMaterial(model.clipPlanes);
  }

  // The spaces of ``alarms`` (open alarms) that mark the building; returns whether the tinted set changed.
  update(alarms) {
    const wanted = new Map();
    for (const alarm of alarms) {
      if (!marksBuilding(alarm)) continue;
      for (const space of alarm.space_guids ?? []) {
        if (!this.model.nodes.has(space)) continue;
        wanted.set(space, (wanted.get(space) ?? false) || needsAck(alarm));
      }
    }
    let changed = false;
    for (const [space, meshes] of this.overlays) {
      if (wanted.has(space)) continue;
      for (const mesh of meshes) this.group.remove(mesh);
      this.overlays.delete(space);
      changed = true;
    }
    for (const [space, unacked] of wanted) {
      if (!this.overlays.has(space)) { this.overlays.set(space, this.overlay(space)); changed = true; }
      const material = unacked ? this.pulseMaterial : this.material;
      for (const mesh of this.overlays.get(space)) mesh.material = material;
    }
    this.pulsing = new Set([...wanted].filter(([, unacked]) => unacked).map(([space]) => space));
    this.syncVisibility();
    return changed;
  }

  overlay(space) {
    const meshes = [];
    const node = this.model.nodes.get(space);
    node.updateWorldMatrix(true, true);
    node.traverse((object) => {
      if (!object.isMesh) return;
      const mesh = new THREE.Mesh(object.geometry, this.material);
      mesh.matrixAutoUpdate = false;
      mesh.matrix.copy(object.matrixWorld);
      mesh.matrixWorldNeedsUpdate = true;
      mesh.renderOrder = 2; // over the room's own tint
      mesh.userData.alarmSpace = space;
      mesh.raycast = () => {}; // picking goes to the room beneath
      this.group.add(mesh);
      meshes.push(mesh);
    });
    return meshes;
  }

  // Only on the storey shown (all storeys: every one).
  syncVisibility() {
    const filter = this.model.storeyFilter;
    for (const [space, meshes] of this.overlays) {
      const visible = filter === 'all' || this.model.info.get(space)?.storey === filter;
      for (const mesh of meshes) mesh.visible = visible;
    }
  }

  // Called before each frame; returns whether the pulse needs another frame.
  animate(now = performance.now()) {
    this.syncVisibility();
    if (!this.pulsing.size) return false;
    const phase = (Math.sin((now / PULSE_MS) * 2 * Math.PI) + 1) / 2;
    this.pulseMaterial.opacity = 0.25 + 0.45 * phase;
    return true;
  }

  spaces() { return [...this.overlays.keys()]; }

  // World box of some spaces (an IfcZone's alarm flies to all of its rooms).
  boxOf(spaces) {
    const box = new THREE.Box3();
    for (const space of spaces) {
      const part = this.model.boxOf(space);
      if (part) box.union(part);
    }
    return box.isEmpty() ? null : box;
  }
}

function overlayMaterial(clipPlanes) {
  return new THREE.MeshBasicMaterial({
    color: ALARM_RED, transparent: true, opacity: STEADY_OPACITY, depthWrite: false, side: THREE.DoubleSide,
    clippingPlanes: clipPlanes, polygonOffset: true, polygonOffsetFactor: -1, polygonOffsetUnits: -4,
  });
}
