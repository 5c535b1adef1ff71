// The engine's open alarms as one page sees them: the /ws "alarms" list after the snapshot, then one "alarm"
// frame per transition, and the answers of the page's own actions. Listeners hear which alarms changed.
import { isOpen } from './alarm_state.js';

export class AlarmFeed {
  constructor() {
    this.alarms = new Map(); // id -> alarm JSON (open ones only)
    this.listeners = [];
    this.loaded = false; // an "alarms" list (or /api/alarms) has come in
  }

  onChange(listener) { this.listeners.push(listener); }

  // A /ws frame; returns whether it was an alarm frame.
  receive(message) {
    if (message?.type === 'alarms' && Array.isArray(message.alarms)) {
      this.replace(message.alarms);
      return true;
    }
    if (message?.type === 'alarm' && message.alarm && typeof message.alarm.id === 'number') {
      this.upsert(message.alarm, message.event ?? null);
      return true;
    }
    return false;
  }

  replace(list) {
    const before = this.alarms;
    this.alarms = new Map(list.filter(isOpen).map((alarm) => [alarm.id, alarm]));
    this.loaded = true;
    const changed = [...before.values(), ...this.alarms.values()];
    this.emit(changed, null);
  }

  // A newer view of one alarm (a transition, or the answer to an action): kept while open, dropped once over.
  upsert(alarm, event = null) {
    const previous = this.alarms.get(alarm.id) ?? null;
    if (isOpen(alarm)) this.alarms.set(alarm.id, alarm);
    else this.alarms.delete(alarm.id);
    this.emit([alarm, ...(previous ? [previous] : [])], { alarm, previous, event });
  }

  async load() {
    const response = await fetch('/api/alarms', { cache: 'no-store' });
    if (!response.ok) throw new Error(`/api/alarms: HTTP ${response.status}`);
    this.replace(await response.json());
  }

  emit(changed, transition) {
    for (const listener of this.listeners) listener(changed, transition);
  }

  list() { return [...this.alarms.values()]; }

  get(id) { return this.alarms.get(id) ?? null; }
}
