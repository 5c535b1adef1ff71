// Live point values: /api/points for what exists, the /ws stream for values and the engine's alarms, and the
// state of each element. What is an alarm comes only from the alarm engine (its /ws "alarms"/"alarm" frames),
// never from how a point is named.
import { AlarmFeed } from './alarm_feed.js';
import { marksBuilding } from './alarm_state.js';

// States from harmless to worst; an element shows the worst state of its points, and a device's element the
// worst of all its points and alarms, wherever they are bound (a fire panel whose fire zone, an IfcZone, burns
// reads "alarm"). api/device_state.py applies the same rule for /api/devices.
export const STATES = ['unknown', 'normal', 'stale', 'bad', 'unavailable', 'alarm'];
const QUALITY_STATES = { GOOD: 'normal', STALE: 'stale', BAD: 'bad', UNAVAILABLE: 'unavailable' };
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
const WS_UNAUTHORIZED = 4401; // api/auth_guard.py: 4000 + HTTP 401
const WS_ROLE_CHANGED = 4205; // api/ws.py: the user was given another role; the session lives on

// The close reason of a 4401 is the server's sentence (api/auth.py); the login page wants its kind.
function closeReason(text) {
  if (/disabled/.test(text)) return 'account_disabled';
  if (/ended|logged out/.test(text)) return 'session_ended';
  return 'session_expired';
}

// alarmed: the engine has an alarm on this point that marks the building (marksBuilding)
export function pointState(point, sample, alarmed = false) {
  if (alarmed) return 'alarm';
  if (!sample) return 'unknown';
  const usable = sample.q === 'GOOD' || sample.q === 'STALE';
  // The gateway's communication-loss point: true means the device cannot be reached.
  if (usable && sample.v === true && point.id.endsWith('.comm_lost')) return 'unavailable';
  return QUALITY_STATES[sample.q] ?? 'bad';
}

export function worst(states) {
  let result = 'unknown';
  for (const state of states) if (STATES.indexOf(state) > STATES.indexOf(result)) result = state;
  return result;
}

export class LiveData {
  // onStatus(status): 'connecting' | 'connected' | 'reconnecting' | 'offline'; onChange(Set of GlobalIds);
  // onUnauthorized(reason): the server closed the stream because the session is gone (close code 4401), or
  // because the user's role changed (4205, reason 'role_changed').
  // alarms (AlarmFeed) holds the engine's open alarms from the same stream.
  // devices (SiteDevices, optional): whose element a point's device is, so that the device shows all its points.
  constructor({ onStatus, onChange, onUnauthorized = null, devices = null }) {
    this.devices = devices;
    this.devicePoints = new Map(); // device id -> [point id]
    this.alarmedDevices = new Set(); // device ids with an alarm that marks the building
    this.onStatus = onStatus;
    this.onChange = onChange;
    this.onUnauthorized = onUnauthorized;
    this.alarms = new AlarmFeed();
    this.alarmedPoints = new Set(); // point ids with an alarm that marks the building
    this.alarmedGuids = new Set(); // elements with such an alarm on themselves (no point: a k-of-n zone alarm)
    this.alarms.onChange(() => this.alarmsChanged());
    this.onFrame = null; // frames of other kinds ("broadcast"...), for the page that wants them
    this.points = new Map(); // point id -> /api/points entry
    this.byGuid = new Map(); // GlobalId -> [point id]
    this.samples = new Map(); // point id -> {v, q, ts, sts}
    this.status = 'connecting';
    this.attempts = 0;
    this.socket = null;
    this.timer = null;
    this.stopped = false;
    this.messages = 0;
  }

  async start() {
    this.setStatus('connecting');
    const loaded = await this.loadPoints();
    if (loaded === 'missing') {
      this.setStatus('offline'); // this server has no live data: the viewer works without it
      return;
    }
    if (loaded === 'failed') {
      this.scheduleReconnect();
      return;
    }
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close();
  }

  async loadPoints() {
    let response;
    try {
      response = await fetch('/api/points', { cache: 'no-store' });
    } catch (error) {
      console.warn('live data: /api/points unreachable', error);
      return 'failed';
    }
    if (response.status === 404) return 'missing';
    if (!response.ok) {
      console.warn(`live data: /api/points answered HTTP ${response.status}`);
      return 'failed';
    }
    const list = await response.json();
    this.points = new Map(list.map((point) => [point.id, point]));
    this.byGuid = new Map();
    this.devicePoints = new Map();
    for (const point of list) {
      if (point.device) {
        if (!this.devicePoints.has(point.device)) this.devicePoints.set(point.device, []);
        this.devicePoints.get(point.device).push(point.id);
      }
      if (!point.ifc_guid) continue;
      if (!this.byGuid.has(point.ifc_guid)) this.byGuid.set(point.ifc_guid, []);
      this.byGuid.get(point.ifc_guid).push(point.id);
    }
    return 'loaded';
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempts = 0;
      this.setStatus('connected');
    });
    socket.addEventListener('message', (event) => this.receive(event.data));
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (event.code === WS_UNAUTHORIZED && this.onUnauthorized) {
        this.stopped = true; // retrying cannot help: only a new login can
        this.onUnauthorized(closeReason(event.reason));
        return;
      }
      if (event.code === WS_ROLE_CHANGED && this.onUnauthorized) {
        this.stopped = true; // the same stream would carry the new role's data under the old role's page
        this.onUnauthorized('role_changed');
        return;
      }
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    if (this.stopped) return;
    this.setStatus('reconnecting');
    // Exponential backoff with jitter, so that a restarted server is not hit by every browser at once.
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempts) * (0.8 + Math.random() * 0.4);
    this.attempts += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      const loaded = await this.loadPoints(); // the point list may have changed while we were away
      if (loaded === 'missing') this.setStatus('offline');
      else if (loaded === 'failed') this.scheduleReconnect();
      else this.connect();
    }, delay);
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      console.warn('live data: a message that is not JSON was ignored');
      return;
    }
    if (this.alarms.receive(message)) return;
    if (message && !['snapshot', 'updates'].includes(message.type)) { this.onFrame?.(message); return; } // e.g. broadcast
    if (!message || !Array.isArray(message.points)) return;
    this.messages += 1;
    const changed = new Set();
    if (message.type === 'snapshot') {
      for (const guid of this.byGuid.keys()) changed.add(guid);
      this.samples.clear();
    }
    for (const sample of message.points) {
      if (typeof sample?.id !== 'string') continue;
      this.samples.set(sample.id, sample);
      const point = this.points.get(sample.id);
      if (point?.ifc_guid) changed.add(point.ifc_guid);
      const deviceGuid = this.deviceGuid(point?.device);
      if (deviceGuid) changed.add(deviceGuid);
    }
    if (changed.size) this.onChange(changed);
  }

  // The engine's alarms changed: recolour the elements whose alarm state did.
  alarmsChanged() {
    const before = this.alarmedElements();
    this.alarmedPoints = new Set();
    this.alarmedGuids = new Set();
    this.alarmedDevices = new Set();
    for (const alarm of this.alarms.list()) {
      if (!marksBuilding(alarm)) continue;
      if (alarm.device) this.alarmedDevices.add(alarm.device);
      if (alarm.point) this.alarmedPoints.add(alarm.point);
      else if (alarm.ifc_guid) this.alarmedGuids.add(alarm.ifc_guid);
    }
    const after = this.alarmedElements();
    const changed = new Set([...before, ...after].filter((guid) => guid && before.has(guid) !== after.has(guid)));
    for (const guid of after) if (guid) changed.add(guid); // a new alarm on an element already in alarm: redraw lists
    this.onChange(changed);
  }

  // Every element an alarm marks: its own, its point's and its device's.
  alarmedElements() {
    const points = [...this.alarmedPoints].map((id) => this.points.get(id));
    return new Set([
      ...this.alarmedGuids,
      ...points.map((point) => point?.ifc_guid),
      ...points.map((point) => this.deviceGuid(point?.device)),
      ...[...this.alarmedDevices].map((id) => this.deviceGuid(id)),
    ].filter(Boolean));
  }

  deviceGuid(deviceId) {
    return deviceId ? this.devices?.byId?.get(deviceId)?.ifc_guid ?? null : null;
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.onStatus(status);
  }

  elementGuids() { return [...this.byGuid.keys()]; }

  // The points bound to the element, then the other points of the device standing there.
  pointsOf(guid) {
    const device = this.devices?.deviceAt?.(guid);
    const ids = new Set([...(this.byGuid.get(guid) ?? []), ...(device ? this.devicePoints.get(device.id) ?? [] : [])]);
    return [...ids].filter((id) => this.points.has(id)).map((id) => {
      const point = this.points.get(id);
      const sample = this.samples.get(id);
      return { point, sample, state: pointState(point, sample, this.alarmedPoints.has(id)) };
    });
  }

  elementState(guid) {
    const states = this.pointsOf(guid).map((entry) => entry.state);
    if (this.alarmedGuids.has(guid)) states.push('alarm');
    const device = this.devices?.deviceAt?.(guid);
    if (device && this.alarmedDevices.has(device.id)) states.push('alarm');
    return worst(states);
  }
}
