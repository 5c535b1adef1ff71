// The building at the security desk: the twin's scene (Stage, HallModel) with the open alarms on it: alarmed
// devices in the alarm colour (blinking), every room of an alarm tinted (AlarmZones: a fire zone's IfcZone
// tints all of its rooms), and a flight to the alarm picked in the list, on its own storey.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { getJson } from './api.js';
import { marksBuilding, placeOf } from './alarm_state.js';
import { AlarmZones } from './alarm_tint.js';
import { HallModel } from './model.js';
import { Stage } from './scene.js';

const BLINK_MS = 600;
const PULSE_MS = 300;

export class DeskScene {
  // storeyLabel: says which storey is shown; allButton: back to the whole building (hidden while it is shown)
  constructor(container, overlay, i18n, storeyLabel, allButton) {
    this.container = container;
    this.allButton = allButton;
    this.overlay = overlay;
    this.i18n = i18n;
    this.storeyLabel = storeyLabel;
    this.state = 'loading';
    this.error = null;
    this.model = null;
    this.stage = null;
    this.zones = null;
    this.alarmed = new Set(); // elements in the alarm colour
    this.pending = null; // the alarms (and flight) asked for before the building was in
  }

  async load(zones) {
    try {
      this.stage = new Stage(this.container);
      const metadata = await getJson('/api/model/elements');
      const response = await fetch('/api/model');
      if (!response.ok) throw new Error(`/api/model: HTTP ${response.status}`);
      const gltf = await new GLTFLoader().parseAsync(await response.arrayBuffer(), '');
      this.model = new HallModel(gltf.scene, metadata, zones);
      this.stage.scene.add(gltf.scene);
      this.stage.frame(this.model.buildingBox());
      this.zones = new AlarmZones(this.model, this.stage.scene);
      this.selection = new THREE.BoxHelper(undefined, 0x1565c0);
      this.selection.visible = false;
      this.stage.scene.add(this.selection);
      this.stage.beforeRender.push(() => this.zones.syncVisibility());
      let blinkOn = false;
      setInterval(() => {
        if (!this.alarmed.size) return;
        blinkOn = !blinkOn;
        this.model.blink(blinkOn);
        this.stage.requestRender();
      }, BLINK_MS);
      setInterval(() => { if (this.zones.animate()) this.stage.requestRender(); }, PULSE_MS);
      this.overlay.hidden = true;
      this.state = 'ready';
      this.showStorey('all');
      if (this.pending) {
        this.showAlarms(this.pending.alarms);
        if (this.pending.fly) this.flyTo(this.pending.fly);
      }
    } catch (error) {
      console.error(error);
      this.state = 'error';
      this.error = String(error.message ?? error);
      this.overlay.querySelector('p').textContent = `${this.i18n.t('desk.model_error')} ${this.error}`;
      this.overlay.classList.add('error');
    }
  }

  // The open alarms: device colours and room tints.
  showAlarms(alarms) {
    if (!this.model) { this.pending = { ...this.pending, alarms }; return; }
    const now = new Set();
    for (const alarm of alarms) {
      if (!marksBuilding(alarm)) continue;
      const { guid } = placeOf(alarm, this.model);
      if (guid && !this.model.info.get(guid).isSpace) now.add(guid);
    }
    for (const guid of this.alarmed) if (!now.has(guid)) this.model.setDeviceState(guid, 'unknown');
    for (const guid of now) this.model.setDeviceState(guid, 'alarm');
    this.alarmed = new Set([...now].filter((guid) => this.model.deviceStates.get(guid) === 'alarm'));
    this.zones.update(alarms);
    this.stage.requestRender();
  }

  // Fly to the alarm: its storey alone (an upper floor would hide it), its element or all of its rooms.
  flyTo(alarm) {
    if (!this.model) { this.pending = { ...this.pending, fly: alarm }; return false; }
    const { guid, spaces } = placeOf(alarm, this.model);
    const storey = this.model.info.get(guid ?? spaces[0])?.storey;
    if (storey) this.showStorey(storey);
    const box = guid && this.model.nodes.has(guid) ? this.model.boxOf(guid) : this.zones.boxOf(spaces);
    this.selection.visible = Boolean(guid && this.model.nodes.has(guid));
    if (this.selection.visible) this.selection.setFromObject(this.model.nodes.get(guid));
    if (!box) return false;
    this.stage.focus(box, (from, to) => !this.model.lineBlocked(from, to, guid));
    return true;
  }

  showStorey(filter) {
    if (!this.model) return;
    this.model.setStorey(filter);
    this.zones.syncVisibility();
    const storey = this.model.storeyByGuid.get(filter);
    this.storeyLabel.textContent = storey ? `${this.i18n.t('desk.storey')} ${this.i18n.ifcLine(storey.name, 'storey')}` : this.i18n.t('desk.all_storeys');
    this.storeyLabel.dataset.storey = filter;
    this.allButton.hidden = filter === 'all';
    if (filter === 'all') { this.selection.visible = false; this.stage.flyHome(); }
    this.stage.requestRender();
  }
}
