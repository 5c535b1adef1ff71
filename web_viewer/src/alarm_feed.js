// The engine's open alarms as one page sees them: the /ws "alarms" list after the snapshot, then one "alarm"
// frame per transition, and the answers of the page's own actions. Listeners hear which alarms changed.
// An action's answer and the /ws frames travel apart, so a view can arrive after a newer one of the same alarm:
// each carries the stored row's revision, and an older view than the one shown is dropped.
import { isOpen } from './alarm_state.js';

// Revisions remembered for closed alarms too (a late answer must not bring one back); the oldest are forgotten.
const REMEMBERED_REVISIONS = 10_000;

// Whether ``view`` of an alarm is not older than ``shown`` (another view of the same alarm, or nothing).
export function notOlder(view, shown) {
  return !shown || (view.revision ?? 0) >= (shown.revision ?? 0);
}

export class AlarmFeed {
  constructor() {
    this.alarms = new Map(); // id -> alarm JSON (open ones only)
    this.revisions = new Map(); // id -> newest revision seen, open or closed
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

  // A whole list is the server's state at one time (the /ws snapshot comes in order with its frames).
  replace(list) {
    const before = this.alarms;
    this.alarms = new Map(list.filter(isOpen).map((alarm) => [alarm.id, alarm]));
    for (const alarm of list) this.remember(alarm);
    this.loaded = true;
    const changed = [...before.values(), ...this.alarms.values()];
    this.emit(changed, null);
  }

  // A newer view of one alarm (a transition, or the answer to an action): kept while open, dropped once over.
  // Returns false for a view older than the one already seen.
  upsert(alarm, event = null) {
    if ((alarm.revision ?? 0) < (this.revisions.get(alarm.id) ?? 0)) return false;
    this.remember(alarm);
    const previous = this.alarms.get(alarm.id) ?? null;
    if (isOpen(alarm)) this.alarms.set(alarm.id, alarm);
    else this.alarms.delete(alarm.id);
    this.emit([alarm, ...(previous ? [previous] : [])], { alarm, previous, event });
    return true;
  }

  remember(alarm) {
    this.revisions.delete(alarm.id); // re-inserted last: a Map iterates oldest first
    this.revisions.set(alarm.id, alarm.revision ?? 0);
    if (this.revisions.size > REMEMBERED_REVISIONS) this.revisions.delete(this.revisions.keys().next().value);
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
