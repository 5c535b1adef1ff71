// Device symbols: which kind of device an element is, read from its IFC class and predefined type (so that any
// IFC file works, not only the demo hall), and a small pictogram for it drawn on the live-state dot. On the big
// screen a green dot alone does not say whether it is a meter or a smoke detector.
//
// Pictograms are canvas paths in one dark ink on the white disc; the dot's material colour tints the disc with the
// live state, and the ink stays dark on every state colour.

const INK = '#17202c';

// [IFC class, predefined or object types (upper case; empty: any), symbol]; the first match wins.
const RULES = [
  ['IfcSensor', ['SMOKESENSOR', 'FIRESENSOR', 'HEATSENSOR'], 'smoke'],
  ['IfcSensor', ['TEMPERATURESENSOR', 'HUMIDITYSENSOR'], 'climate'],
  ['IfcSensor', ['MOISTURESENSOR'], 'leak'],
  ['IfcSensor', ['PEOPLECOUNTER', 'MOVEMENTSENSOR'], 'people'],
  ['IfcSensor', [], 'sensor'],
  ['IfcFlowMeter', [], 'meter'],
  ['IfcElectricFlowStorageDevice', [], 'ups'],
  ['IfcUnitaryEquipment', [], 'ac'],
  ['IfcUnitaryControlElement', ['ALARMPANEL'], 'panel'],
  ['IfcAlarm', ['MANUALPULLBOX', 'BREAKGLASSBUTTON', 'EMERGENCYBUTTON'], 'button'],
  ['IfcAlarm', [], 'panel'],
  ['IfcDoor', [], 'door'],
  ['IfcAudioVisualAppliance', ['CAMERA'], 'camera'],
  ['IfcAudioVisualAppliance', ['SPEAKER'], 'speaker'],
  ['IfcAudioVisualAppliance', ['DISPLAY'], 'display'],
  ['IfcCommunicationsAppliance', [], 'terminal'],
  ['IfcController', [], 'controller'],
];

// IFC2X3 has no IfcSensor, IfcAlarm, IfcFlowMeter ...: devices are these generic classes, told apart only by the
// predefined type of their type object. For them the type alone decides.
const GENERIC_CLASSES = new Set([
  'IfcDistributionControlElement', 'IfcFlowController', 'IfcEnergyConversionDevice', 'IfcFlowStorageDevice',
  'IfcFlowTerminal',
]);
const SYMBOL_OF_TYPE = {
  SMOKESENSOR: 'smoke', FIRESENSOR: 'smoke', HEATSENSOR: 'smoke', TEMPERATURESENSOR: 'climate',
  HUMIDITYSENSOR: 'climate', MOISTURESENSOR: 'leak', MOVEMENTSENSOR: 'people', ENERGYMETER: 'meter',
  ELECTRICMETER: 'meter', UPS: 'ups', AIRCONDITIONINGUNIT: 'ac', SPLITSYSTEM: 'ac', ROOFTOPUNIT: 'ac',
  AIRHANDLER: 'ac', MANUALPULLBOX: 'button', BREAKGLASSBUTTON: 'button', CAMERA: 'camera', SPEAKER: 'speaker',
  DISPLAY: 'display',
};

// The order of the legend.
export const SYMBOLS = [
  'meter', 'ups', 'ac', 'climate', 'leak', 'smoke', 'panel', 'button', 'door', 'people', 'camera', 'speaker',
  'display', 'terminal', 'controller', 'sensor', 'device',
];

export function symbolOf(info) {
  const type = String(info?.predefinedType ?? '').toUpperCase();
  if (GENERIC_CLASSES.has(info?.ifcClass)) return SYMBOL_OF_TYPE[type] ?? 'device';
  for (const [ifcClass, types, symbol] of RULES) {
    if (info?.ifcClass === ifcClass && (types.length === 0 || types.includes(type))) return symbol;
  }
  return 'device';
}

// The dot with the pictogram of ``symbol`` on a square canvas of ``size`` pixels.
export function drawMarker(canvas, symbol, size = 64) {
  canvas.width = size;
  canvas.height = size;
  const g = canvas.getContext('2d');
  g.beginPath();
  g.arc(size / 2, size / 2, size / 2 - 3, 0, Math.PI * 2);
  g.fillStyle = '#ffffff';
  g.fill();
  g.lineWidth = size / 13;
  g.strokeStyle = 'rgba(20, 30, 45, 0.85)';
  g.stroke();
  // Pictograms are drawn on a 24 x 24 grid centred in the disc.
  const scale = (size * 0.56) / 24;
  g.save();
  g.translate(size / 2 - 12 * scale, size / 2 - 12 * scale);
  g.scale(scale, scale);
  g.fillStyle = INK;
  g.strokeStyle = INK;
  g.lineWidth = 2.6;
  g.lineCap = 'round';
  g.lineJoin = 'round';
  PICTOGRAMS[symbol]?.(g);
  g.restore();
  return canvas;
}

const path = (g, points, close = true) => {
  g.beginPath();
  g.moveTo(...points[0]);
  for (const point of points.slice(1)) g.lineTo(...point);
  if (close) g.closePath();
};

const PICTOGRAMS = {
  meter: (g) => { // a lightning bolt
    path(g, [[14, 1], [4, 14], [11, 14], [9, 23], [20, 9], [13, 9]]);
    g.fill();
  },
  ups: (g) => { // a battery
    g.strokeRect(2, 7, 18, 11);
    g.fillRect(20.5, 10, 3, 5);
    g.fillRect(5, 10, 8, 5);
  },
  ac: (g) => { // a snowflake
    for (const angle of [0, Math.PI / 3, (2 * Math.PI) / 3]) {
      const dx = Math.cos(angle) * 10;
      const dy = Math.sin(angle) * 10;
      path(g, [[12 - dx, 12 - dy], [12 + dx, 12 + dy]], false);
      g.stroke();
    }
  },
  climate: (g) => { // a thermometer
    g.beginPath();
    g.arc(12, 18, 4.5, 0, Math.PI * 2);
    g.fill();
    g.fillRect(10, 2, 4, 14);
  },
  leak: (g) => { // a drop
    g.beginPath();
    g.moveTo(12, 1);
    g.bezierCurveTo(12, 1, 4, 11, 4, 15);
    g.arc(12, 15, 8, Math.PI, 0, true);
    g.bezierCurveTo(20, 11, 12, 1, 12, 1);
    g.fill();
  },
  smoke: (g) => { // a detector seen from below: a ring round a centre
    g.beginPath();
    g.arc(12, 12, 9, 0, Math.PI * 2);
    g.stroke();
    g.beginPath();
    g.arc(12, 12, 4, 0, Math.PI * 2);
    g.fill();
  },
  panel: (g) => { // a flame
    g.beginPath();
    g.moveTo(12, 1);
    g.bezierCurveTo(19, 8, 20, 13, 19, 16);
    g.bezierCurveTo(18, 21, 15, 23, 12, 23);
    g.bezierCurveTo(8, 23, 5, 20, 5, 16);
    g.bezierCurveTo(5, 12, 8, 10, 9, 6);
    g.bezierCurveTo(11, 9, 11, 11, 12, 12);
    g.bezierCurveTo(13, 8, 13, 5, 12, 1);
    g.fill();
  },
  button: (g) => { // an exclamation mark
    g.fillRect(10, 1, 4, 15);
    g.fillRect(10, 19, 4, 4);
  },
  door: (g) => { // a door leaf with its handle
    g.strokeRect(5, 1.5, 14, 21);
    g.beginPath();
    g.arc(15, 13, 1.8, 0, Math.PI * 2);
    g.fill();
  },
  people: (g) => { // a person
    g.beginPath();
    g.arc(12, 5, 4, 0, Math.PI * 2);
    g.fill();
    g.beginPath();
    g.moveTo(4, 23);
    g.bezierCurveTo(4, 13, 20, 13, 20, 23);
    g.fill();
  },
  camera: (g) => { // a camera body with its lens
    g.fillRect(1, 7, 15, 11);
    path(g, [[16, 12], [23, 7], [23, 18]]);
    g.fill();
  },
  speaker: (g) => { // a loudspeaker with a sound wave
    path(g, [[2, 9], [7, 9], [13, 3], [13, 21], [7, 15], [2, 15]]);
    g.fill();
    g.beginPath();
    g.arc(13, 12, 7, -Math.PI / 3, Math.PI / 3);
    g.stroke();
  },
  display: (g) => { // a screen with text lines
    g.strokeRect(1.5, 4, 21, 16);
    g.fillRect(5, 8, 14, 2.5);
    g.fillRect(5, 13.5, 9, 2.5);
  },
  terminal: (g) => { // a kiosk: a screen on a stand
    g.strokeRect(4, 2, 16, 12);
    g.fillRect(10.5, 14, 3, 6);
    g.fillRect(6, 20, 12, 3);
  },
  controller: (g) => { // a key
    g.beginPath();
    g.arc(7, 12, 5, 0, Math.PI * 2);
    g.stroke();
    path(g, [[12, 12], [22, 12], [22, 16]], false);
    g.stroke();
    path(g, [[18, 12], [18, 15]], false);
    g.stroke();
  },
  sensor: (g) => { // radio waves
    g.beginPath();
    g.arc(12, 16, 2.5, 0, Math.PI * 2);
    g.fill();
    for (const radius of [7, 12]) {
      g.beginPath();
      g.arc(12, 16, radius, (-3 * Math.PI) / 4, -Math.PI / 4);
      g.stroke();
    }
  },
  device: () => {}, // a plain dot
};
