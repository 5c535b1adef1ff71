// The loaded building: GlobalId -> scene node and metadata, storeys, zone colours, storey filter, device colours.
import * as THREE from 'three';
import {
  HIDDEN_CLASSES, STATE_COLOURS, UNASSIGNED_SPACE, ZONE_COLOURS, architectureMaterial, classStyle, spaceMaterial,
} from './palette.js';

const LINE_SLACK = 0.05; // metres: a surface this close to the end of a sight line does not block it
const SECTION_HEIGHT = 1.3; // metres above a storey's floor where its plan cuts the walls (below door heads)
const NO_VALUE = 0xe3e6ea; // a room without a value of the chosen metric
const CUT_COLOUR = 0x4a5562; // walls and columns where the section cuts them
const CUT_CLASSES = /^(IfcWall|IfcColumn|IfcCurtainWall)/;
// Element meshes drawn through a merged batch (batches.js) live on this layer: rays test it, the camera skips it.
export const ELEMENT_LAYER = 1;

export class HallModel {
  // root: the glTF scene (node names are IFC GlobalIds); metadata: /api/model/elements; zones: /api/zones.zones
  constructor(root, metadata, zones) {
    this.root = root;
    this.storeys = [...(metadata.storeys ?? [])].sort((a, b) => (a.elevation ?? 0) - (b.elevation ?? 0));
    this.storeyByGuid = new Map(this.storeys.map((s) => [s.guid, s]));
    this.storeyByName = new Map(this.storeys.map((s) => [s.name, s]));
    this.zoneBySpace = new Map((zones ?? []).map((z) => [z.ifc_guid, z]));
    this.info = new Map();
    for (const space of metadata.spaces ?? []) {
      this.info.set(space.guid, {
        guid: space.guid, ifcClass: 'IfcSpace', name: space.name, longName: space.long_name,
        storey: this.storeyGuid(space.storey), space: space.guid, isSpace: true,
      });
    }
    for (const element of metadata.elements ?? []) {
      if (this.info.has(element.guid)) continue; // a space listed twice keeps its space entry
      this.info.set(element.guid, {
        guid: element.guid, ifcClass: element.ifc_class, name: element.name,
        predefinedType: element.predefined_type, storey: this.storeyGuid(element.storey),
        space: element.space ?? null, isSpace: element.ifc_class === 'IfcSpace',
      });
    }
    // IFC world (Z up) -> glTF rows, read from the metadata rather than assumed.
    this.ifcToGltf = metadata.up_axis?.ifc_to_gltf ?? [[1, 0, 0], [0, 0, 1], [0, -1, 0]];
    this.footprints = new Map(); // space GlobalId -> {ring: [[x, y]...] IFC XY, floor: IFC Z}
    for (const space of metadata.spaces ?? []) {
      if (Array.isArray(space.footprint) && space.footprint.length >= 3) {
        this.footprints.set(space.guid, { ring: space.footprint, floor: space.floor_elevation ?? 0 });
      }
    }
    // Openings have no mesh: their box (IFC metres) places the marker of a device bound to one.
    this.openingBoxes = new Map();
    for (const opening of metadata.openings ?? []) {
      if (this.info.has(opening.guid)) continue;
      this.info.set(opening.guid, {
        guid: opening.guid, ifcClass: 'IfcOpeningElement', name: opening.name, storey: this.storeyGuid(opening.storey),
        space: null, isSpace: false, isOpening: true,
      });
      const box = new THREE.Box3().setFromPoints([this.toGltf(opening.min), this.toGltf(opening.max)]);
      this.openingBoxes.set(opening.guid, box);
    }
    // IfcZone groups: a point bound to one tints all of its spaces.
    this.ifcZones = new Map((metadata.ifc_zones ?? []).map((zone) => [zone.guid, zone]));
    this.nodes = new Map(); // GlobalId -> Object3D
    root.traverse((object) => {
      if (this.info.has(object.name) && !this.nodes.has(object.name)) this.nodes.set(object.name, object);
    });
    this.deviceStates = new Map(); // GlobalId -> state name
    this.storeyFilter = 'all';
    this.showRoof = false; // operators look into the building: the roof hides every room
    this.hasRoof = [...this.nodes.keys()].some((guid) => isRoof(this.info.get(guid)));
    this.tints = new Map(); // space GlobalId -> colour of the chosen metric (none: the zone colour)
    this.tinting = false; // a metric is chosen: spaces without a value are neutral
    this.sectionEnabled = true; // a storey view cuts its walls (off: the bench's baseline)
    this.clipPlanes = []; // shared by every material of the building: empty in the overview
    this.cutY = null;
    this.style();
    this.applyVisibility();
  }

  // A point [x, y, z] in IFC world metres as a glTF (scene) point.
  toGltf(point) {
    const [x, y, z] = point;
    const r = this.ifcToGltf;
    return new THREE.Vector3(
      r[0][0] * x + r[0][1] * y + r[0][2] * z, r[1][0] * x + r[1][1] * y + r[1][2] * z, r[2][0] * x + r[2][1] * y + r[2][2] * z,
    );
  }

  // A scene point as IFC world metres (the rows are a rotation: the inverse is the transpose).
  toIfc(point) {
    const r = this.ifcToGltf;
    const { x, y, z } = point;
    return [r[0][0] * x + r[1][0] * y + r[2][0] * z, r[0][1] * x + r[1][1] * y + r[2][1] * z, r[0][2] * x + r[1][2] * y + r[2][2] * z];
  }

  // The height of the storey's floor (IFC Z): most of its rooms' floors, else its own elevation.
  floorOf(storeyGuid) {
    const floors = [...this.footprints.entries()]
      .filter(([guid]) => this.info.get(guid)?.storey === storeyGuid).map(([, f]) => f.floor).sort((a, b) => a - b);
    if (floors.length) return floors[Math.floor(floors.length / 2)];
    return this.storeyByGuid.get(storeyGuid)?.elevation ?? 0;
  }

  // Storeys a user is offered as views: those with rooms (a roof space does not count) or with site devices;
  // a foundation level without either shows nothing to supervise.
  viewStoreys(deviceGuids = new Set()) {
    return this.storeys.filter((storey) => [...this.info.values()].some((info) => info.storey === storey.guid
      && ((info.isSpace && !isRoofSpace(info) && this.nodes.has(info.guid)) || deviceGuids.has(info.guid))));
  }

  // The room that contains a scene point, on ``storeyGuid`` (null: any storey); a point on a wall between rooms
  // (just outside every footprint) takes the nearest room within ``reach`` metres.
  spaceAt(point, storeyGuid = null, reach = 0.6) {
    const [x, y, z] = this.toIfc(point);
    let best = null; let bestDistance = Infinity;
    for (const [guid, footprint] of this.footprints) {
      const info = this.info.get(guid);
      if (storeyGuid && info.storey !== storeyGuid) continue;
      if (!storeyGuid && (z < footprint.floor - 0.3 || z > footprint.floor + 6)) continue;
      if (!this.nodes.has(guid) || isRoofSpace(info)) continue;
      const distance = insideRing(footprint.ring, x, y) ? 0 : distanceToRing(footprint.ring, x, y);
      // Inside two footprints (a gallery over a hall): the one whose floor is nearest below the point.
      const score = distance + (distance === 0 ? Math.abs(z - footprint.floor) * 1e-3 : 0);
      if (distance <= reach && score < bestDistance) { best = guid; bestDistance = score; }
    }
    return best;
  }

  // Storeys are referenced by GlobalId; accept a name too, so both exporter conventions work.
  storeyGuid(reference) {
    if (reference == null) return null;
    if (this.storeyByGuid.has(reference)) return reference;
    return this.storeyByName.get(reference)?.guid ?? null;
  }

  style() {
    const materials = new Map();
    const caps = [];
    for (const [guid, node] of this.nodes) {
      const info = this.info.get(guid);
      if (HIDDEN_CLASSES.has(info.ifcClass)) {
        node.visible = false;
        node.userData.hiddenByClass = true;
        continue;
      }
      let material = null;
      if (info.isSpace) {
        const zone = this.zoneBySpace.get(guid);
        const colour = zone ? (ZONE_COLOURS[zone.zone_type] ?? ZONE_COLOURS.other) : UNASSIGNED_SPACE;
        const key = `space:${colour}`;
        if (!materials.has(key)) materials.set(key, spaceMaterial(colour));
        material = materials.get(key);
      } else {
        const style = classStyle(info.ifcClass);
        if (style) {
          const key = `${style.color}:${style.opacity ?? 1}`;
          if (!materials.has(key)) materials.set(key, architectureMaterial(style));
          material = materials.get(key);
        }
      }
      if (info.isSpace) material = material.clone(); // a room's own material: a metric tints it alone
      node.traverse((object) => {
        if (!object.isMesh) return;
        object.userData.guid = guid;
        if (material) {
          object.material = material;
        } else {
          ownMaterials(object); // a device or other element: live colouring must touch only this element
          if (!object.geometry.attributes.normal) {
            for (const m of materialsOf(object)) m.flatShading = true; // no normals in the file: face normals
          }
        }
        if (info.isSpace) object.renderOrder = 1; // after opaque geometry, so rooms tint what is inside
        for (const m of materialsOf(object)) m.clippingPlanes = this.clipPlanes; // the storey's section
        if (CUT_CLASSES.test(info.ifcClass)) caps.push(object);
      });
    }
    this.addCaps(caps);
  }

  // A cut wall is hollow: from above, its sides are edge-on and the plan would show no wall at all. Its back
  // faces, drawn dark and pulled in front of the floor they stand on, fill the cut like a section's hatch.
  addCaps(meshes) {
    const material = new THREE.MeshBasicMaterial({
      color: CUT_COLOUR, side: THREE.BackSide, clippingPlanes: this.clipPlanes,
      polygonOffset: true, polygonOffsetFactor: -2, polygonOffsetUnits: -8,
    });
    this.caps = meshes.map((mesh) => {
      const cap = new THREE.Mesh(mesh.geometry, material);
      cap.raycast = () => {}; // the wall itself is what a ray meets
      cap.visible = false;
      cap.userData.cap = true;
      mesh.add(cap);
      return cap;
    });
  }

  zoneColour(guid) {
    const zone = this.zoneBySpace.get(guid);
    return zone ? (ZONE_COLOURS[zone.zone_type] ?? ZONE_COLOURS.other) : UNASSIGNED_SPACE;
  }

  // Tint rooms by a metric: ``tints`` space GlobalId -> colour; null: back to the zone colours.
  setTints(tints) {
    this.tinting = tints !== null;
    this.tints = tints ?? new Map();
    for (const [guid, node] of this.nodes) {
      const info = this.info.get(guid);
      if (!info.isSpace) continue;
      const colour = this.tinting ? (this.tints.get(guid) ?? NO_VALUE) : this.zoneColour(guid);
      node.traverse((object) => {
        if (!object.isMesh) return;
        for (const m of materialsOf(object)) {
          m.color.setHex(colour);
          m.opacity = this.tinting && this.tints.has(guid) ? 0.55 : 0.35;
        }
      });
    }
    this.applyVisibility();
  }

  // Whether a room is drawn in the overview: only with a meaning (a zone or a metric's value). Unassigned rooms
  // and roof spaces would be grey boxes over the building.
  spaceMeaningful(info) {
    if (this.tinting) return this.tints.has(info.guid);
    return this.zoneBySpace.has(info.guid);
  }

  // 'all' or a storey GlobalId: hide everything that belongs to another storey.
  setStorey(filter) {
    this.storeyFilter = filter;
    this.applyVisibility();
  }

  setRoof(show) {
    this.showRoof = show;
    this.applyVisibility();
  }

  applyVisibility() {
    const filter = this.storeyFilter;
    const section = filter !== 'all' && this.sectionEnabled;
    // A storey view is a plan: coverings (suspended ceilings) go, and everything is cut at the section height so
    // that the rooms read from above; the overview keeps the whole building.
    this.cutY = section ? this.toGltf([0, 0, this.floorOf(filter) + SECTION_HEIGHT]).y : null;
    this.clipPlanes.length = 0;
    if (section) this.clipPlanes.push(new THREE.Plane(new THREE.Vector3(0, -1, 0), this.cutY));
    for (const cap of this.caps) cap.visible = section;
    for (const [guid, node] of this.nodes) {
      if (node.userData.hiddenByClass) continue;
      const info = this.info.get(guid);
      // Elements without a storey (the site, the terrain) stay as the ground reference.
      const onStorey = filter === 'all' || info.storey === filter || (info.storey == null && info.ifcClass === 'IfcSite');
      let visible = onStorey && (this.showRoof || !isRoof(info));
      // Floors go too: the rooms' own tinted floors are the plan (a slab would cover them).
      if (section && /^(IfcCovering|IfcSlab|IfcRoof)/.test(info.ifcClass)) visible = false;
      if (info.isSpace && isRoofSpace(info) && !this.zoneBySpace.has(guid)) visible = false;
      if (info.isSpace && filter === 'all' && !this.spaceMeaningful(info)) visible = false;
      node.visible = visible;
    }
  }

  // Whether a ray hit is on geometry that is drawn: the section cuts away what lies above it.
  drawnHit(hit) {
    return this.cutY === null || hit.point.y <= this.cutY + 0.01;
  }

  isVisible(guid) {
    if (this.openingBoxes.has(guid)) {
      const storey = this.info.get(guid).storey;
      return this.storeyFilter === 'all' || storey === this.storeyFilter;
    }
    let object = this.nodes.get(guid);
    if (!object) return false;
    while (object) {
      if (!object.visible) return false;
      object = object.parent;
    }
    return true;
  }

  visibleMeshes() {
    const meshes = [];
    this.root.traverseVisible((object) => { if (object.isMesh && !object.userData.cap) meshes.push(object); });
    return meshes;
  }

  // Whether a mesh hides what is behind it in the depth buffer: solid building parts and devices, not the
  // translucent rooms, windows and curtain walls (their materials do not write depth).
  hidesMarkers(mesh) {
    const materials = materialsOf(mesh);
    return materials.some((material) => material.depthWrite && !material.transparent);
  }

  // Whether a solid part of the visible building, other than element ``guid``, stands on the line from
  // ``from`` to ``to`` (``occluders``: the meshes to test, default every visible solid one).
  lineBlocked(from, to, guid, occluders = null) {
    const meshes = occluders ?? this.visibleMeshes().filter((mesh) => this.hidesMarkers(mesh));
    const towards = to.clone().sub(from);
    const distance = towards.length();
    if (!this.raycaster) {
      this.raycaster = new THREE.Raycaster();
      this.raycaster.layers.enable(ELEMENT_LAYER);
    }
    this.raycaster.set(from, towards.normalize());
    this.raycaster.far = Math.max(0, distance - LINE_SLACK);
    return this.raycaster.intersectObjects(meshes, false)
      .some((hit) => this.drawnHit(hit) && this.guidOf(hit.object) !== guid);
  }

  // The GlobalId of the element a mesh belongs to (a multi-material element is a group of meshes).
  guidOf(object) {
    for (let current = object; current; current = current.parent) {
      if (current.userData.guid) return current.userData.guid;
      if (this.info.has(current.name)) return current.name;
    }
    return null;
  }

  // World box of the building (roof included), without the terrain, which may reach far beyond it.
  buildingBox() {
    const box = new THREE.Box3();
    for (const [guid, node] of this.nodes) {
      if (this.info.get(guid).ifcClass === 'IfcSite' || node.userData.hiddenByClass) continue;
      box.expandByObject(node);
    }
    return box.isEmpty() ? new THREE.Box3().setFromObject(this.root) : box;
  }

  boxOf(guid) {
    if (this.openingBoxes.has(guid)) return this.openingBoxes.get(guid).clone();
    const node = this.nodes.get(guid);
    return node ? new THREE.Box3().setFromObject(node) : null;
  }

  // The spaces a point bound to ``guid`` tints: the space itself, every space of an IfcZone, or none.
  spacesOf(guid) {
    if (this.info.get(guid)?.isSpace) return [guid];
    return this.ifcZones.get(guid)?.spaces.filter((space) => this.info.has(space)) ?? [];
  }

  // Live colouring: 'unknown' restores the model's own colours.
  setDeviceState(guid, state) {
    const node = this.nodes.get(guid);
    if (!node || this.info.get(guid).isSpace) return false; // a room keeps its zone or metric colour
    if (!isEquipment(this.info.get(guid))) return false; // walls and slabs carrying a device: its marker tells
    this.deviceStates.set(guid, state);
    node.traverse((object) => {
      if (!object.isMesh) return;
      ownMaterials(object);
      materialsOf(object).forEach((material, i) => {
        if (state === 'unknown') {
          material.color.copy(object.userData.baseColours[i]);
          material.emissive.setHex(0x000000);
        } else {
          material.color.setHex(STATE_COLOURS[state]);
          material.emissive.setHex(STATE_COLOURS[state]);
          material.emissiveIntensity = 0.35;
        }
      });
    });
    return true;
  }

  // Alarms blink: flip the emissive glow of every device in alarm.
  blink(on) {
    for (const [guid, state] of this.deviceStates) {
      if (state !== 'alarm') continue;
      this.nodes.get(guid).traverse((object) => {
        if (!object.isMesh || !object.userData.baseColours) return;
        for (const material of materialsOf(object)) material.emissiveIntensity = on ? 1.0 : 0.05;
      });
    }
  }

  deviceColour(guid) {
    const node = this.nodes.get(guid);
    let colour = null;
    node?.traverse((object) => {
      if (!colour && object.isMesh) colour = `#${materialsOf(object)[0].color.getHexString()}`;
    });
    return colour;
  }
}

// Classes that are the building rather than equipment in it: their own state would mean nothing.
const STRUCTURE = /^(IfcWall|IfcSlab|IfcCovering|IfcRoof|IfcBeam|IfcColumn|IfcMember|IfcPlate|IfcFooting|IfcCurtainWall|IfcRailing|IfcStair|IfcRamp|IfcSite|IfcBuildingElementProxy)/;

export function isEquipment(info) {
  return Boolean(info) && !info.isSpace && !STRUCTURE.test(info.ifcClass);
}

export function isStructure(info) {
  return Boolean(info) && STRUCTURE.test(info.ifcClass) && info.ifcClass !== 'IfcBuildingElementProxy';
}

// A space that is the attic or roof of the model: not a room anyone supervises.
export function isRoofSpace(info) {
  return /\b(roof|dach|attic)\b|屋顶|屋面/i.test(`${info.name ?? ''} ${info.longName ?? ''}`);
}

function insideRing(ring, x, y) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [xi, yi] = ring[i]; const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function distanceToRing(ring, x, y) {
  let best = Infinity;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [ax, ay] = ring[j]; const [bx, by] = ring[i];
    const dx = bx - ax; const dy = by - ay;
    const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy || 1)));
    best = Math.min(best, Math.hypot(ax + t * dx - x, ay + t * dy - y));
  }
  return best;
}

export function isRoof(info) {
  return info.ifcClass === 'IfcRoof' || (info.ifcClass === 'IfcSlab' && String(info.predefinedType).toUpperCase() === 'ROOF');
}

// Give a mesh its own copy of its materials (once), remembering the colours to return to.
function ownMaterials(mesh) {
  if (mesh.userData.baseColours) return;
  mesh.material = Array.isArray(mesh.material) ? mesh.material.map((m) => m.clone()) : mesh.material.clone();
  mesh.userData.baseColours = materialsOf(mesh).map((m) => m.color.clone());
}

function materialsOf(mesh) {
  return Array.isArray(mesh.material) ? mesh.material : [mesh.material];
}
