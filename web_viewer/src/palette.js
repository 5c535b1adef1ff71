// Colours of the twin: neutral architecture, one colour per zone type, one per live device state.
import * as THREE from 'three';

export const BACKGROUND = 0xe9eef3;

// Zone colours follow the visitor's path: warm for guidance, blue for service, green for waiting.
export const ZONE_COLOURS = {
  guidance: 0xf2a93b,
  window_service: 0x3f7fd9,
  waiting: 0x4fb06d,
  convenience: 0x8fc45a,
  self_service: 0x2bb3b1,
  self_service_24h: 0x167f86,
  office: 0x9a8bd0,
  toilet: 0x7fb8e6,
  mother_baby: 0xe98bb6,
  power_room: 0xc4573b,
  server_room: 0x8c3f9e,
  weak_current: 0xa86f3a,
  circulation: 0xc9ccd1,
  other: 0xb0b4ba,
};
export const UNASSIGNED_SPACE = 0xd6d9de;

export const STATE_COLOURS = {
  normal: 0x2e9e4f,
  alarm: 0xe02424,
  stale: 0xf0b429,
  bad: 0xf07d1a,
  unavailable: 0x8a8f96,
  unknown: 0x4a6fa5,
  unmonitored: 0xb4bbc4, // a device of the site that no point reports on (a camera the gateway does not poll)
};

// Architecture stays neutral so that zones and device states carry the colour.
const CLASS_STYLES = [
  [/^IfcWall/, { color: 0xf1efea }],
  [/^IfcCurtainWall/, { color: 0xbcd6ea, opacity: 0.35 }],
  [/^IfcSlab/, { color: 0xd2cfc8 }],
  [/^IfcRoof/, { color: 0xb9b4ab }],
  [/^(IfcBeam|IfcColumn|IfcMember|IfcPlate)/, { color: 0xdcd8d0 }],
  [/^(IfcStair|IfcRamp)/, { color: 0xc2bdb3 }],
  [/^IfcRailing/, { color: 0x8e949b }],
  [/^IfcCovering/, { color: 0xe4e1da }],
  [/^IfcWindow/, { color: 0x9cc7e6, opacity: 0.4 }],
  [/^IfcDoor/, { color: 0xa9825a }],
  [/^(IfcFurniture|IfcFurnishingElement)/, { color: 0xc3ae8f }],
  [/^IfcSite/, { color: 0xb7c4a8 }],
];

// Classes drawn by the exporter but meaningless to an operator.
export const HIDDEN_CLASSES = new Set(['IfcOpeningElement', 'IfcAnnotation', 'IfcGrid', 'IfcVirtualElement']);

export function classStyle(ifcClass) {
  for (const [pattern, style] of CLASS_STYLES) if (pattern.test(ifcClass)) return style;
  return null; // devices and others keep the colours of the model
}

export function architectureMaterial(style) {
  const transparent = style.opacity !== undefined;
  return new THREE.MeshStandardMaterial({
    color: style.color,
    roughness: 0.9,
    metalness: 0,
    transparent,
    opacity: style.opacity ?? 1,
    depthWrite: !transparent,
    side: THREE.DoubleSide,
    flatShading: true, // IFC exports carry no normals; buildings are planar, so face normals are right
  });
}

export function spaceMaterial(colour) {
  return new THREE.MeshStandardMaterial({
    color: colour,
    roughness: 1,
    metalness: 0,
    transparent: true,
    opacity: 0.35,
    depthWrite: false,
    side: THREE.DoubleSide,
    flatShading: true,
    // A room's faces lie on its walls and floor: pushed back a little, the solid surface wins the depth test
    // instead of flickering stripes.
    polygonOffset: true,
    polygonOffsetFactor: 1,
    polygonOffsetUnits: 4,
  });
}

export function hex(colour) {
  return `#${colour.toString(16).padStart(6, '0')}`;
}
