// The site's devices as the integrator named them in site.yaml (/api/devices): names, kinds, points and where
// each one is. The viewer leads with these; the IFC name and class are secondary.
import { symbolOf } from './symbols.js';

// site.yaml device kinds -> pictograms (symbols.js). The integrator's kind wins over the IFC class: a people
// counter bound to a door is a people counter.
const SYMBOL_OF_KIND = {
  power_meter: 'meter', ups: 'ups', ac_unit: 'ac', temp_humidity: 'climate', water_leak: 'leak',
  smoke_detector: 'smoke', fire_panel: 'panel', emergency_button: 'button', access_door: 'door',
  people_counter: 'people', camera: 'camera', ip_speaker: 'speaker', queue_display: 'display',
  queue_system: 'terminal', kiosk: 'terminal',
};

export class SiteDevices {
  constructor(list = []) {
    this.list = list;
    this.byId = new Map(list.map((device) => [device.id, device]));
    this.byGuid = new Map(); // element GlobalId -> the first device bound to it
    this.points = new Map(); // point id -> {point, device}
    for (const device of list) {
      if (!this.byGuid.has(device.ifc_guid)) this.byGuid.set(device.ifc_guid, device);
      for (const point of device.points) this.points.set(point.id, { point, device });
    }
  }

  // null: this server has no device list (an older one, or no rights): the viewer falls back to the IFC.
  static async fetch() {
    try {
      const response = await fetch('/api/devices', { cache: 'no-store' });
      if (!response.ok) return new SiteDevices();
      return new SiteDevices((await response.json()).devices ?? []);
    } catch {
      return new SiteDevices();
    }
  }

  deviceAt(guid) { return this.byGuid.get(guid) ?? null; }

  // Whether anything reports on the devices at ``guid``: a point, or the gateway's polling (comm loss).
  monitored(guid) {
    return this.list.some((device) => device.ifc_guid === guid && (device.points.length > 0 || device.polled));
  }

  // Every element a device of the site is bound to.
  guids() { return [...this.byGuid.keys()]; }

  symbolOf(guid, info = null) {
    const device = this.byGuid.get(guid);
    return (device && SYMBOL_OF_KIND[device.kind]) || symbolOf(info);
  }

  precisionOf(pointId) {
    return this.points.get(pointId)?.point.precision ?? null;
  }

  brickOf(pointId) {
    return this.points.get(pointId)?.point.brick ?? '';
  }

  deviceOfPoint(pointId) {
    return this.points.get(pointId)?.device ?? null;
  }
}
