// The loaded building: GlobalId -> scene node and metadata, storeys, zone colours, storey filter, device colours.
import * as THREE from 'three';
import {
  HIDDEN_CLASSES, STATE_COLOURS, UNASSIGNED_SPACE, ZONE_COLOURS, architectureMaterial, classStyle, spaceMaterial,
} from './palette.js';

const LINE_SLACK = 0.05; // metres: a surface this close to the end of a sight line does not block it

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
    this.nodes = new Map(); // GlobalId -> Object3D
    root.traverse((object) => {
      if (this.info.has(object.name) && !this.nodes.has(object.name)) this.nodes.set(object.name, object);
    });
    this.deviceStates = new Map(); // GlobalId -> state name
    this.storeyFilter = 'all';
    this.showRoof = false; // operators look into the building: the roof hides every room
    this.style();
    this.applyVisibility();
  }

  // Storeys are referenced by GlobalId; accept a name too, so both exporter conventions work.
  storeyGuid(reference) {
    if (reference == null) return null;
    if (this.storeyByGuid.has(reference)) return reference;
    return this.storeyByName.get(reference)?.guid ?? null;
  }

  style() {
    const materials = new Map();
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
      });
    }
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
    for (const [guid, node] of this.nodes) {
      if (node.userData.hiddenByClass) continue;
      const info = this.info.get(guid);
      // Elements without a storey (the site, the terrain) stay as the ground reference.
      const onStorey = filter === 'all' || info.storey === filter || (info.storey == null && info.ifcClass === 'IfcSite');
      node.visible = onStorey && (this.showRoof || !isRoof(info));
    }
  }

  isVisible(guid) {
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
    this.root.traverseVisible((object) => { if (object.isMesh) meshes.push(object); });
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
    this.raycaster ??= new THREE.Raycaster();
    this.raycaster.set(from, towards.normalize());
    this.raycaster.far = Math.max(0, distance - LINE_SLACK);
    return this.raycaster.intersectObjects(meshes, false).some((hit) => this.guidOf(hit.object) !== guid);
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
    const node = this.nodes.get(guid);
    return node ? new THREE.Box3().setFromObject(node) : null;
  }

  // Live colouring: 'unknown' restores the model's own colours.
  setDeviceState(guid, state) {
    const node = this.nodes.get(guid);
    if (!node) return false;
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

function isRoof(info) {
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
