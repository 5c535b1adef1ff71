// Static geometry drawn merged: the plain building parts (walls, slabs, coverings, stairs...) of one storey that
// share a material are drawn as one mesh, a few hundred draw calls fewer on a real model (bench_viewer). The
// element meshes stay in the scene, on a layer the camera does not draw: picking, marker occlusion, outlines and
// the storey/section logic keep working on them unchanged. Rooms, equipment and whatever a device is bound to
// are never merged: they are coloured one by one.
import * as THREE from 'three';
import { mergeGeometries } from 'three/addons/utils/BufferGeometryUtils.js';
import { ELEMENT_LAYER, isRoof } from './model.js';
import { classStyle } from './palette.js';

const MIN_MEMBERS = 2; // a batch of one mesh saves nothing
const PLAN_HIDDEN = /^(IfcCovering|IfcSlab|IfcRoof)/; // shown and hidden together (HallModel.applyVisibility)

export class StaticBatches {
  // deviceGuids: elements a site device is bound to (their colours and outlines are their own)
  constructor(model, scene, deviceGuids = new Set()) {
    this.model = model;
    this.group = new THREE.Group();
    this.group.name = 'static-batches';
    scene.add(this.group);
    this.batches = []; // {mesh, members}
    this.enabled = true;
    const groups = new Map();
    for (const [guid, node] of model.nodes) {
      const info = model.info.get(guid);
      // Only what wears a shared class material (walls, slabs, doors, windows...): the model's own materials
      // are the devices', which live states recolour.
      if (info.isSpace || deviceGuids.has(guid) || !classStyle(info.ifcClass)) continue;
      node.updateWorldMatrix(true, true);
      node.traverse((object) => {
        if (!object.isMesh || object.userData.cap || Array.isArray(object.material)) return;
        if (object.userData.baseColours) return; // coloured on its own
        // Members of one batch are shown and hidden together in every view, as far as the storey filter, the
        // plan and the roof toggle go; anything else is caught by ``sync`` (a mixed batch draws its elements).
        const key = [info.storey, object.material.uuid, object.renderOrder, PLAN_HIDDEN.test(info.ifcClass), isRoof(info)].join('|');
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(object);
      });
    }
    for (const members of groups.values()) {
      if (members.length < MIN_MEMBERS) continue;
      const mesh = new THREE.Mesh(mergeGeometries(members.map(worldGeometry)), members[0].material);
      mesh.visible = false; // until ``sync`` finds all of its elements shown
      mesh.renderOrder = members[0].renderOrder;
      mesh.raycast = () => {}; // the element meshes are what a ray meets
      mesh.name = `batch:${this.batches.length}`;
      this.group.add(mesh);
      this.batches.push({ mesh, members });
    }
    this.sync();
  }

  get drawCallsSaved() { return this.batches.reduce((sum, batch) => sum + batch.members.length - 1, 0); }

  // Merged drawing on or off (the bench's baseline draws every element).
  setEnabled(on) {
    this.enabled = on;
    this.sync();
  }

  // Before a frame: a batch is drawn when all of its elements are shown and wear its material; otherwise (a
  // view that splits it, an element given colours of its own) its elements are drawn one by one.
  sync() {
    for (const { mesh, members } of this.batches) {
      const merged = this.enabled && members.every((m) => m.material === mesh.material && visibleChain(m));
      if (merged === mesh.visible) continue;
      mesh.visible = merged;
      for (const member of members) member.layers.set(merged ? ELEMENT_LAYER : 0);
    }
  }
}

// The mesh's geometry in world space, positions only: a building part's material shades flat (face normals
// from the positions), so the merged geometries share one attribute set.
function worldGeometry(mesh) {
  const source = mesh.geometry.index ? mesh.geometry.toNonIndexed() : mesh.geometry;
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', source.attributes.position.clone());
  geometry.applyMatrix4(mesh.matrixWorld);
  return geometry;
}

function visibleChain(object) {
  for (let current = object; current; current = current.parent) if (!current.visible) return false;
  return true;
}
