// Emergency guidance on the visitor page (DB31/T 862 4.2.2): /api/emergency is polled (visitors have no /ws), and
// while a fire or smoke alarm is active the page shows the evacuation route from where the visitor is, in red and
// in both languages at once, whatever language was chosen: in an emergency nobody should have to find a switch.
import { el } from './dom.js';
import { api } from './visitor_api.js';
import { fill, metres } from './visitor_format.js';

const POLL_MS = 3000;

// Polls the signal; ``onChange(signal)`` when it turns on or off or its alarmed spaces change.
export class EmergencyWatch {
  constructor(onChange) {
    this.onChange = onChange;
    this.signal = { active: false, spaces: [] };
    this.key = 'off';
    this.timer = null;
    this.polls = 0;
  }

  start() { this.poll(); }

  async poll() {
    clearTimeout(this.timer);
    const answer = await api.emergency();
    this.polls += 1;
    if (answer.ok && answer.body) {
      const signal = answer.body;
      const key = signal.active ? `on:${[...signal.spaces].sort().join(',')}:${signal.drill}` : 'off';
      this.signal = signal;
      if (key !== this.key) {
        this.key = key;
        try { await this.onChange(signal); } catch (error) { console.error(error); }
      }
    } // a failed poll keeps the last state: a blip of the network must not end an evacuation on screen
    this.timer = setTimeout(() => this.poll(), POLL_MS);
  }
}

// Both languages of a key: [zh, en].
function both(texts, key) { return [texts.zh[key] ?? key, texts.en[key] ?? key]; }

function pair(tag, attributes, zh, en) {
  return el(tag, attributes, el('span', { lang: 'zh-CN' }, zh), el('span', { lang: 'en', class: 'en' }, en));
}

// texts: {zh: {...}, en: {...}} (the visitor bundles); view: {signal, route, status, from, places, isKiosk}
// handlers: {pickFrom(id), changeFrom()}
export function renderEvacuation(root, texts, view, handlers) {
  const [titleZh, titleEn] = both(texts, view.signal.drill ? 'visitor.evac.drill' : 'visitor.evac.title');
  const parts = [pair('h2', { class: 'evac-title', 'data-testid': 'evac-title' }, titleZh, titleEn)];
  const message = view.signal.message;
  if (message) parts.push(pair('p', { class: 'evac-message' }, message.zh, message.en));
  const zones = view.signal.zones ?? [];
  if (zones.length) {
    const [zh, en] = both(texts, 'visitor.evac.zones');
    parts.push(pair('p', { class: 'evac-zones', 'data-testid': 'evac-zones' },
      `${zh}：${zones.map((z) => z.name.zh).join('、')}`, `${en}: ${zones.map((z) => z.name.en).join(', ')}`));
  }
  parts.push(pair('p', { class: 'evac-rule' }, ...both(texts, 'visitor.evac.no_lift')));
  if (!view.from) {
    parts.push(pair('p', { class: 'evac-ask' }, ...both(texts, 'visitor.evac.where')));
    const grid = el('div', { class: 'evac-places', 'data-testid': 'evac-places' });
    for (const place of view.places) {
      const button = pair('button', { type: 'button', 'data-place': place.id }, place.name.zh, place.name.en);
      button.addEventListener('click', () => handlers.pickFrom(place.id));
      grid.append(button);
    }
    parts.push(grid);
    root.replaceChildren(...parts);
    return;
  }
  const [hereZh, hereEn] = both(texts, view.isKiosk ? 'visitor.here' : 'visitor.from');
  const from = pair('p', { class: 'evac-from', 'data-testid': 'evac-from' },
    `${hereZh}：${view.from.name.zh}`, `${hereEn}: ${view.from.name.en}`);
  if (!view.isKiosk) {
    const [zh, en] = both(texts, 'visitor.change');
    const change = el('button', { type: 'button', class: 'link', 'data-testid': 'evac-change' }, `${zh} / ${en}`);
    change.addEventListener('click', () => handlers.changeFrom());
    from.append(change);
  }
  parts.push(from);
  const route = view.route;
  if (view.status === 'loading' || !route) {
    parts.push(pair('p', { class: 'notice' }, ...both(texts, 'visitor.route.loading')));
  } else if (view.status === 'failed' || !route.ok) {
    const text = route?.message ?? { zh: view.error ?? '', en: view.error ?? '' };
    parts.push(pair('p', { class: 'evac-none', 'data-testid': 'evac-none' }, text.zh, text.en));
    parts.push(pair('p', { class: 'evac-rule' }, ...both(texts, 'visitor.evac.staff')));
  } else {
    const exit = route.exit?.label ?? { zh: route.exit?.name ?? '', en: route.exit?.name ?? '' };
    const [toZh, toEn] = both(texts, 'visitor.evac.to_exit');
    const length = { zh: metres((k) => texts.zh[k] ?? k, route.length_m), en: metres((k) => texts.en[k] ?? k, route.length_m) };
    parts.push(pair('p', { class: 'evac-exit', 'data-testid': 'evac-exit' },
      fill(toZh, { exit: exit.zh, m: length.zh }), fill(toEn, { exit: exit.en, m: length.en })));
    const list = el('ol', { class: 'steps evac-steps', 'data-testid': 'evac-steps' });
    route.steps.forEach((step, i) => {
      list.append(el('li', { class: `step kind-${step.kind}`, 'data-kind': step.kind },
        el('span', { class: 'step-no' }, String(i + 1)),
        pair('span', { class: 'step-text' }, step.text.zh, step.text.en)));
    });
    parts.push(list);
  }
  root.replaceChildren(...parts);
}
