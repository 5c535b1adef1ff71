// Live point values: /api/points for what exists, the /ws stream for values, and the state of each element.

// States from harmless to worst; an element shows the worst state of its points.
export const STATES = ['unknown', 'normal', 'stale', 'bad', 'unavailable', 'alarm'];
// Binary points whose true value is an alarm (fire-panel zones, smoke detectors, emergency buttons, leaks,
// forced doors, faults, UPS on battery, panel trouble); matched on the last segment of the point id.
const ALARM_SUFFIXES = new Set(['fire', 'forced', 'fault', 'on_battery', 'trouble']);
const ALARM_PREFIXES = ['smoke_', 'ebtn_', 'leak_'];
const QUALITY_STATES = { GOOD: 'normal', STALE: 'stale', BAD: 'bad', UNAVAILABLE: 'unavailable' };
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
const WS_UNAUTHORIZED = 4401; // api/auth_guard.py: 4000 + HTTP 401

// The close reason of a 4401 is the server's sentence (api/auth.py); the login page wants its kind.
function closeReason(text) {
  if (/disabled/.test(text)) return 'account_disabled';
  if (/ended|logged out/.test(text)) return 'session_ended';
  return 'session_expired';
}

export function isAlarmPoint(point) {
  if (point.kind && point.kind !== 'binary') return false;
  const suffix = point.id.slice(point.id.lastIndexOf('.') + 1);
  return ALARM_SUFFIXES.has(suffix) || ALARM_PREFIXES.some((prefix) => suffix.startsWith(prefix));
}

export function pointState(point, sample) {
  if (!sample) return 'unknown';
  const usable = sample.q === 'GOOD' || sample.q === 'STALE';
  if (usable && sample.v === true && isAlarmPoint(point)) return 'alarm';
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
  // onUnauthorized(reason): the server closed the stream because the session is gone (close code 4401)
  constructor({ onStatus, onChange, onUnauthorized = null }) {
    this.onStatus = onStatus;
    this.onChange = onChange;
    this.onUnauthorized = onUnauthorized;
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
    for (const point of list) {
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
    if (!message || !Array.isArray(message.points) || !['snapshot', 'updates'].includes(message.type)) return;
    this.messages += 1;
    const changed = new Set();
    if (message.type === 'snapshot') {
      for (const guid of this.byGuid.keys()) changed.add(guid);
      this.samples.clear();
    }
    for (const sample of message.points) {
      if (typeof sample?.id !== 'string') continue;
      this.samples.set(sample.id, sample);
      const guid = this.points.get(sample.id)?.ifc_guid;
      if (guid) changed.add(guid);
    }
    if (changed.size) this.onChange(changed);
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.onStatus(status);
  }

  elementGuids() { return [...this.byGuid.keys()]; }

  pointsOf(guid) {
    return (this.byGuid.get(guid) ?? []).map((id) => {
      const point = this.points.get(id);
      const sample = this.samples.get(id);
      return { point, sample, state: pointState(point, sample) };
    });
  }

  elementState(guid) {
    return worst(this.pointsOf(guid).map((entry) => entry.state));
  }
}
