// The chosen destination on the visitor page: where it is handled (floor, zone, windows), the queue there, the
// route's summary, its floors (tap one to look at it) and its steps with distance and time, the start ("you are
// here" on a kiosk, changeable on a phone) and a QR code that opens the same route on a phone.
import { el } from './dom.js';
import { duration, fill, metres, windowsText } from './visitor_format.js';
import { qrSvg } from './visitor_qr.js';
import { queueBox } from './visitor_queue.js';

const STEP_KINDS = new Set(['walk', 'door', 'stair', 'ramp', 'elevator', 'exit', 'arrive']);

// Where each step starts along the route, as a fraction of its length (for the step the marker is on).
export function stepStarts(steps) {
  const total = steps.reduce((sum, step) => sum + (step.metres || 0), 0) || 1;
  let walked = 0;
  return steps.map((step) => { const start = walked / total; walked += step.metres || 0; return start; });
}

export class DetailPanel {
  // root: the panel element; qrCard: where the QR code goes (over the model, beside the route it opens);
  // handlers: {back(), storey(guid|'all'), replay(), step(i), changeFrom()}
  constructor(i18n, root, qrCard, handlers) {
    this.i18n = i18n;
    this.root = root;
    this.qrCard = qrCard;
    this.handlers = handlers;
    this.starts = [];
    this.current = -1;
  }

  t(key) { return this.i18n.t(key); }

  // view: {destination, route, status: 'loading'|'ok'|'failed', error, queue, from, mode, qr, shown, canChangeFrom}
  render(view) {
    const t = (key) => this.t(key);
    const { destination, route } = view;
    const back = el('button', { type: 'button', class: 'back', 'data-testid': 'back' }, t('visitor.back'));
    back.addEventListener('click', () => this.handlers.back());
    const where = [
      destination.storey_name && fill(t('visitor.on_floor'), { floor: destination.storey_name }),
      destination.zone_name,
      destination.kind === 'window' ? '' : windowsText(t, destination.windows),
    ].filter(Boolean);
    const head = el('div', { class: 'dest-head' },
      back,
      el('div', { class: 'dest-titles' },
        el('p', { class: 'dest-kind' }, this.i18n.has(`visitor.kind.${destination.kind}`)
          ? t(`visitor.kind.${destination.kind}`) : destination.kind),
        el('h2', { 'data-testid': 'dest-name' }, this.i18n.name(destination.name)),
        el('p', { class: 'dest-where', 'data-testid': 'dest-where' }, where.join(' · '))));
    const parts = [head];
    if (destination.note) parts.push(el('p', { class: 'dest-note' }, this.i18n.name(destination.note)));
    if (view.queue) parts.push(queueBox(t, view.queue));
    parts.push(this.fromLine(view));
    parts.push(this.routeSection(view));
    this.root.replaceChildren(...parts);
    this.showQr(view.status === 'ok' ? view.qr : null);
    this.starts = route?.steps ? stepStarts(route.steps) : [];
    this.current = -1;
  }

  showQr(url) {
    this.qrCard.hidden = !url;
    if (!url) { this.qrCard.replaceChildren(); delete this.qrCard.dataset.url; return; }
    this.qrCard.dataset.url = url;
    this.qrCard.replaceChildren(qrSvg(url, this.t('visitor.qr')), el('p', {}, this.t('visitor.qr')));
    // For staff only (visitor.js decides): the code points at an address a phone cannot open.
    if (this.qrHint) this.qrCard.append(el('p', { class: 'qr-hint', 'data-testid': 'qr-hint' }, this.qrHint()));
  }

  fromLine(view) {
    const t = (key) => this.t(key);
    const line = el('p', { class: 'from-line', 'data-testid': 'from-line' },
      el('span', { class: 'here-dot' }), `${t(view.isKiosk ? 'visitor.here' : 'visitor.from')}${t('visitor.colon')}`,
      el('b', {}, view.from ? this.i18n.name(view.from.name) : t('visitor.from_unknown')));
    if (view.canChangeFrom) {
      const change = el('button', { type: 'button', class: 'link', 'data-testid': 'change-from' }, t('visitor.change'));
      change.addEventListener('click', () => this.handlers.changeFrom());
      line.append(change);
    }
    return line;
  }

  routeSection(view) {
    const t = (key) => this.t(key);
    const section = el('section', { class: 'route', 'data-testid': 'route', 'data-status': view.status });
    if (view.status === 'loading') {
      section.append(el('p', { class: 'notice' }, t('visitor.route.loading')));
      return section;
    }
    if (view.status === 'failed') {
      section.append(el('p', { class: 'notice error', 'data-testid': 'route-error' }, view.error));
      return section;
    }
    const route = view.route;
    const summary = [fill(t('visitor.route.length'), { m: metres(t, route.length_m) }),
      fill(t('visitor.route.walk'), { time: duration(t, route.walking_s) })];
    if (route.wheelchair_s) summary.push(fill(t('visitor.route.wheelchair'), { time: duration(t, route.wheelchair_s) }));
    if (route.uses_elevator) summary.push(t('visitor.route.by_lift'));
    else if (route.uses_stairs) summary.push(t('visitor.route.by_stairs'));
    section.append(el('p', { class: 'summary', 'data-testid': 'route-summary' }, summary.join(' · ')));
    if (view.mode === 'accessible') section.append(el('p', { class: 'mode-note' }, t('visitor.route.accessible')));
    if (route.crowd_spaces) section.append(el('p', { class: 'mode-note' }, t('visitor.route.crowd')));
    const storeys = route.storeys ?? [];
    const chips = el('div', { class: 'route-floors', 'data-testid': 'route-floors' });
    const options = storeys.length > 1 ? [...storeys.map((s) => [s.guid, s.name]), ['all', t('visitor.route.whole')]] : [];
    for (const [guid, name] of options) {
      const chip = el('button', { type: 'button', 'data-floor': guid, 'aria-pressed': String(view.shown === guid) }, name);
      chip.addEventListener('click', () => this.handlers.storey(guid));
      chips.append(chip);
    }
    const replay = el('button', { type: 'button', class: 'replay', 'data-testid': 'replay' }, t('visitor.replay'));
    replay.addEventListener('click', () => this.handlers.replay());
    chips.append(replay);
    section.append(chips);
    const list = el('ol', { class: 'steps', 'data-testid': 'steps' });
    (route.steps ?? []).forEach((step, i) => {
      const kind = STEP_KINDS.has(step.kind) ? step.kind : 'walk';
      const facts = step.metres >= 1 ? `${metres(t, step.metres)} · ${duration(t, step.seconds)}` : '';
      const item = el('li', { class: `step kind-${kind}`, 'data-kind': kind, 'data-storey': step.storey },
        el('span', { class: 'step-no' }, String(i + 1)),
        el('span', { class: 'step-text' }, this.i18n.name(step.text)),
        el('span', { class: 'step-facts' }, [this.kindWord(kind), step.storey_name, facts].filter(Boolean).join(' · ')));
      item.addEventListener('click', () => this.handlers.step(i));
      list.append(item);
    });
    section.append(list);
    return section;
  }

  kindWord(kind) {
    return ['stair', 'elevator', 'ramp', 'exit'].includes(kind) ? this.t(`visitor.kind.${kind}`) : '';
  }

  // Mark the step the marker is on (``fraction`` of the route walked).
  highlight(fraction) {
    let index = -1;
    this.starts.forEach((start, i) => { if (fraction >= start - 1e-6) index = i; });
    if (index === this.current) return;
    this.current = index;
    this.root.querySelectorAll('.step').forEach((item, i) => item.classList.toggle('current', i === index));
  }

  showFloor(shown) {
    this.root.querySelectorAll('.route-floors [data-floor]').forEach((chip) => {
      chip.setAttribute('aria-pressed', String(chip.dataset.floor === shown));
    });
  }
}
