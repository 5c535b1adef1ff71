// What the pages show of an engine alarm (GET /api/alarms, /ws "alarm" frames): its ISA-18.2 state as colour,
// icon and words (never colour alone), its priority, whether it is shelved, and which operator actions apply.

export const PRIORITIES = ['critical', 'high', 'medium', 'low'];
export const PRIORITY_COLOURS = { critical: '#c62828', high: '#e8590c', medium: '#d9a400', low: '#1971c2' };
// ISA-18.2: an unacknowledged alarm flashes, an acknowledged one is steady, returned-to-normal-unacknowledged
// flashes in the quiet colour; the icon repeats the state for readers who cannot tell the colours apart.
export const STATE_STYLES = {
  unack: { colour: '#c62828', icon: '!', flashing: true },
  ack: { colour: '#e8590c', icon: '✓', flashing: false },
  rtn_unack: { colour: '#5f6b7a', icon: '↺', flashing: true },
  normal: { colour: '#2e9e4f', icon: '•', flashing: false },
  shelved: { colour: '#7048e8', icon: '⏸', flashing: false },
  out_of_service: { colour: '#495057', icon: '⊘', flashing: false },
};

export function isShelved(alarm, now = Date.now()) {
  return Boolean(alarm.shelved_until) && Date.parse(alarm.shelved_until) > now;
}

// The state a user reads: shelving and out of service hide the lifecycle state behind them.
export function shownState(alarm, now = Date.now()) {
  if (alarm.out_of_service) return 'out_of_service';
  if (isShelved(alarm, now)) return 'shelved';
  return alarm.state;
}

// Open: still to be handled (not back to normal and acknowledged), or set aside by an operator.
export function isOpen(alarm) {
  return alarm.state !== 'normal' || isShelved(alarm) || alarm.out_of_service;
}

// Whether the alarm marks its element and rooms in the building right now: its condition holds (a latched
// alarm until it is reset), and no operator or design rule has set it aside.
export function marksBuilding(alarm) {
  return alarm.state !== 'normal' && (alarm.active || alarm.latched)
    && !isShelved(alarm) && !alarm.out_of_service && !alarm.suppressed;
}

export const needsAck = (alarm) => alarm.state === 'unack' || alarm.state === 'rtn_unack';
// Life safety is never shelved or taken out of service (GB 50394 emergency buttons, latched fire alarms).
export const lifeSafety = (alarm) => alarm.alarm_class === 'emergency' || (alarm.alarm_class === 'fire' && alarm.latched);
export const canShelve = (alarm) => !lifeSafety(alarm) && !alarm.out_of_service && !isShelved(alarm) && alarm.state !== 'normal';
// A latched alarm is reset by hand, once its condition (the button, the panel) has returned to normal.
export const resettable = (alarm) => alarm.latched && alarm.state !== 'normal';

// Critical first, then high...; newest first within a priority.
export function byPriorityThenTime(a, b) {
  return PRIORITIES.indexOf(a.priority) - PRIORITIES.indexOf(b.priority)
    || Date.parse(b.raised_at) - Date.parse(a.raised_at) || b.id - a.id;
}

// "18:45:40" today, "12-05 18:45" another day, in the reader's language.
export function timeText(iso, lang) {
  if (!iso) return '';
  const when = new Date(iso);
  const locale = lang === 'zh' ? 'zh-CN' : 'en-GB';
  const today = new Date().toDateString() === when.toDateString();
  const options = today ? { hour: '2-digit', minute: '2-digit', second: '2-digit' }
    : { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' };
  return when.toLocaleString(locale, options);
}

// The element a click on the alarm flies to, and the rooms it covers (an IfcZone's alarm has no element).
export function placeOf(alarm, model) {
  const spaces = (alarm.space_guids ?? []).filter((guid) => model.info.has(guid));
  const guid = alarm.ifc_guid && model.info.has(alarm.ifc_guid) ? alarm.ifc_guid : null;
  return { guid, spaces };
}
