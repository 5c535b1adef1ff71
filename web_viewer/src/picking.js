// Clicking the building: which element is under the pointer. Raycasts run on BVHs (three-mesh-bvh), built once
// per geometry when the model loads: a real model has meshes of thousands of triangles.
import * as THREE from 'three';
import { acceleratedRaycast, computeBoundsTree, disposeBoundsTree } from 'three-mesh-bvh';
import { ELEMENT_LAYER, isEquipment } from './model.js';

THREE.BufferGeometry.prototype.computeBoundsTree = computeBoundsTree;
THREE.BufferGeometry.prototype.disposeBoundsTree = disposeBoundsTree;

// A BVH pays on meshes of many triangles (a curtain wall, a stair, furniture from a manufacturer's catalogue);
// a wall of 12 triangles is tested faster by three.js's own bounding-sphere check and loop.
const BVH_MIN_TRIANGLES = 256;
// Pixels beyond a marker's edge that a click still counts as meaning it: a finger or a hurried mouse lands
// a little off, and between two neighbours it may mean either.
const MARKER_SLACK_PX = 4;

function triangles(geometry) {
  return (geometry.index ? geometry.index.count : geometry.attributes.position?.count ?? 0) / 3;
}

// Build the BVH of every large mesh under ``root`` (shared geometries once); ``accelerate`` false keeps
// three.js's own raycast everywhere (the bench's baseline).
export function prepareBvh(root, accelerate = true) {
  root.traverse((object) => {
    if (!object.isMesh || object.userData.cap) return;
    if (accelerate && triangles(object.geometry) >= BVH_MIN_TRIANGLES) {
      object.raycast = acceleratedRaycast;
      if (!object.geometry.boundsTree) object.geometry.computeBoundsTree();
    } else {
      object.raycast = THREE.Mesh.prototype.raycast;
    }
  });
}

// Page points on a marker's round dot of ``px`` pixels around ``centre``, the centre first, then outwards
// on rings (a neighbour's dot may cover part of it).
function markerSamples(centre, px) {
  const points = [centre];
  for (const ring of [0.2, 0.35]) {
    for (let i = 0; i < 12; i += 1) {
      const angle = (2 * Math.PI * i) / 12;
      points.push({ x: centre.x + ring * px * Math.cos(angle), y: centre.y + ring * px * Math.sin(angle) });
    }
  }
  return points;
}

export class Picker {
  // devices: SiteDevices (an element a site device is bound to is picked as itself, whatever its class)
  constructor(stage, model, markers, devices = null) {
    this.stage = stage;
    this.model = model;
    this.markers = markers;
    this.devices = devices;
    this.raycaster = new THREE.Raycaster();
    this.raycaster.layers.enable(ELEMENT_LAYER); // element meshes drawn through a merged batch
  }

  // What a click at a page point selects: a marker; else the equipment, door or window hit first; else the
  // room the hit point is in (a click on a floor, ceiling, wall or piece of furniture means the room); else the
  // element itself (an outside wall).
  pickAt(clientX, clientY) {
    this.raycaster.setFromCamera(this.stage.toNdc(clientX, clientY), this.stage.camera);
    const marked = this.markers?.pick(this.raycaster);
    if (marked) return marked;
    const hits = this.raycaster.intersectObjects(this.model.visibleMeshes(), false)
      .filter((hit) => this.model.drawnHit(hit));
    const info = (hit) => this.model.info.get(this.model.guidOf(hit.object));
    const solid = hits.find((hit) => !info(hit)?.isSpace);
    const room = hits.find((hit) => info(hit)?.isSpace);
    const solidInfo = solid ? info(solid) : null;
    if (solid && this.selectableItself(solidInfo) && (!room || solid.distance <= room.distance + 0.5)) {
      return solidInfo.guid;
    }
    if (room && (!solid || room.distance <= solid.distance + 0.05)) return this.model.guidOf(room.object);
    if (solid) {
      const storey = this.model.storeyFilter === 'all' ? (solidInfo?.storey ?? null) : this.model.storeyFilter;
      // Just inside the surface: a floor's top face or a wall's side belong to the room in front of them.
      const inside = solid.point.clone().addScaledVector(this.raycaster.ray.direction, -0.02);
      const space = this.model.spaceAt(inside, storey) ?? (room ? this.model.guidOf(room.object) : null);
      return space ?? solidInfo?.guid ?? null;
    }
    return room ? this.model.guidOf(room.object) : null;
  }

  // Equipment, doors and windows, and whatever a site device is bound to, are clicked as themselves.
  selectableItself(info) {
    if (!info) return false;
    if (this.devices?.deviceAt(info.guid)) return true;
    return isEquipment(info) && !/^(IfcFurnishingElement|IfcFurniture)/.test(info.ifcClass);
  }

  // What a click at a page point does: where several markers meet, the user chooses among them (``choose``);
  // anywhere else it opens what ``pickAt`` selects (``guid``, maybe null).
  clickAt(clientX, clientY) {
    const near = this.markersNear(clientX, clientY);
    return near.length > 1 ? { choose: near, guid: null } : { choose: null, guid: this.pickAt(clientX, clientY) };
  }

  // Whether a click at a page point opens the element at once (no chooser in between).
  opens(guid, point) {
    return this.clickAt(point.x, point.y).guid === guid;
  }

  // A page point where a click opens the element, or null (tests and tours): on its marker (a device's mesh may
  // be above the section), the part of the dot no neighbour's overlaps; else a sample of its projected box.
  screenPointOf(guid) {
    const marker = this.markerPoint(guid);
    if (marker) {
      const px = this.markers.markerPixels(this.stage.camera, this.stage.size().height);
      const onDot = markerSamples(marker, px).find((point) => this.opens(guid, point));
      if (onDot) return onDot;
    }
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
      if (screen && this.opens(guid, screen)) return screen;
    }
    return null;
  }

  // The devices whose markers a click at a page point could mean, nearest first: every shown marker whose
  // centre is within half a marker plus ``slackPx`` of the point (markers drawn over one another, or a click
  // on the seam between neighbours). More than one: the click is ambiguous and a chooser is offered.
  markersNear(clientX, clientY, slackPx = MARKER_SLACK_PX) {
    if (!this.markers) return [];
    const reach = this.markers.markerPixels(this.stage.camera, this.stage.size().height) / 2 + slackPx;
    const near = [];
    for (const [guid, sprite] of this.markers.sprites) {
      if (!sprite.visible) continue;
      const point = this.markerPoint(guid);
      const distance = point ? Math.hypot(point.x - clientX, point.y - clientY) : Infinity;
      if (distance <= reach) near.push({ guid, distance });
    }
    return near.sort((a, b) => a.distance - b.distance).map((entry) => entry.guid);
  }

  // The page rectangles of the markers shown (what room labels keep clear of).
  markerRects() {
    if (!this.markers) return [];
    const px = this.markers.markerPixels(this.stage.camera, this.stage.size().height);
    const rects = [];
    for (const [guid, sprite] of this.markers.sprites) {
      const point = sprite.visible ? this.markerPoint(guid) : null;
      if (point) rects.push({ x: point.x - px / 2, y: point.y - px / 2, width: px, height: px });
    }
    return rects;
  }

  // The page point of the element's marker (spread markers sit off their spot), or null.
  markerPoint(guid) {
    const sprite = this.markers?.sprites.get(guid);
    if (!sprite?.visible) return null;
    const point = this.stage.toScreen(sprite.position);
    if (!point) return null;
    const px = this.markers.markerPixels(this.stage.camera, this.stage.size().height);
    return { x: point.x + sprite.userData.offset.x * px, y: point.y - sprite.userData.offset.y * px };
  }

  // The rooms a click selects over a grid of page points every ``step`` pixels of the canvas (tests, bench).
  sampleGrid(step) {
    const rect = this.stage.renderer.domElement.getBoundingClientRect();
    const picked = new Map();
    for (let y = rect.top + step / 2; y < rect.bottom; y += step) {
      for (let x = rect.left + step / 2; x < rect.right; x += step) {
        const guid = this.pickAt(x, y);
        if (guid) picked.set(guid, (picked.get(guid) ?? 0) + 1);
      }
    }
    return picked;
  }
}
