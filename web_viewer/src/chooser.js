// The marker chooser: a click that lands where several device markers meet (a power room full of meters seen
// from afar) offers the devices there as a short list (pictogram, name, state) instead of guessing one.
import { STATE_COLOURS, hex } from './palette.js';
import { el } from './dom.js';
import { drawMarker } from './symbols.js';

const SYMBOL_PIXELS = 32; // drawn at twice the shown size, for sharp pictograms on high-density screens
const EDGE_PX = 8; // the list keeps this far from the stage's edges

export class MarkerChooser {
  // container: the stage's parent (the list is placed in its coordinates); onChoose(guid): what choosing does
  constructor(container, i18n, model, markers, devices, onChoose) {
    Object.assign(this, { container, i18n, model, markers, devices, onChoose });
    this.list = el('div', { class: 'marker-chooser', role: 'menu', 'data-testid': 'marker-chooser', hidden: '' });
    container.append(this.list);
    this.guids = [];
    this.at = null;
    this.list.addEventListener('keydown', (event) => this.onKey(event));
    // A press anywhere else closes it (a press on the canvas then picks as usual).
    document.addEventListener('pointerdown', (event) => { if (!this.list.contains(event.target)) this.hide(); }, true);
  }

  get open() { return !this.list.hidden; }

  // Offer ``guids`` (nearest marker first) at the page point (x, y).
  show(guids, x, y) {
    this.guids = guids;
    this.at = { x, y };
    this.render();
    this.list.hidden = false;
    this.place(x, y);
    this.list.querySelector('button')?.focus({ preventScroll: true });
  }

  hide() {
    if (this.list.hidden) return;
    this.list.hidden = true;
    this.guids = [];
  }

  // The rows again (language change, a state change while the list is open).
  render() {
    const rows = this.guids.map((guid) => {
      const sprite = this.markers.sprites.get(guid);
      const state = sprite?.userData.state ?? 'unknown';
      const canvas = drawMarker(document.createElement('canvas'), sprite?.userData.symbol ?? 'device', SYMBOL_PIXELS);
      canvas.className = 'symbol';
      const button = el('button', { type: 'button', role: 'menuitem', 'data-guid': guid, 'data-state': state },
        canvas,
        el('span', { class: 'name' }, this.nameOf(guid)),
        el('span', { class: 'state' },
          el('span', { class: 'swatch state', style: `background:${hex(STATE_COLOURS[state])}` }),
          this.i18n.t(`state.${state}`)));
      button.addEventListener('click', () => { this.hide(); this.onChoose(guid); });
      return button;
    });
    this.list.replaceChildren(el('p', { class: 'title' }, this.i18n.t('chooser.title')), ...rows);
  }

  // The site.yaml name first; an element without a device is named as the IFC names it.
  nameOf(guid) {
    const device = this.devices?.deviceAt(guid);
    if (device) return this.i18n.name(device.name);
    const info = this.model.info.get(guid);
    return this.i18n.ifcName(info?.longName).text || this.i18n.local(info?.name) || guid;
  }

  // Beside the click, turned to the other side where it would run off the stage.
  place(x, y) {
    const bounds = this.container.getBoundingClientRect();
    const { offsetWidth: width, offsetHeight: height } = this.list;
    let left = x - bounds.left + 12;
    let top = y - bounds.top - 12;
    if (left + width > bounds.width - EDGE_PX) left = x - bounds.left - 12 - width;
    if (top + height > bounds.height - EDGE_PX) top = bounds.height - EDGE_PX - height;
    this.list.style.left = `${Math.max(EDGE_PX, left)}px`;
    this.list.style.top = `${Math.max(EDGE_PX, top)}px`;
  }

  onKey(event) {
    const buttons = [...this.list.querySelectorAll('button')];
    const index = buttons.indexOf(document.activeElement);
    if (event.key === 'Escape') { this.hide(); event.stopPropagation(); return; }
    const step = { ArrowDown: 1, ArrowUp: -1 }[event.key];
    if (!step || !buttons.length) return;
    event.preventDefault();
    buttons[(index + step + buttons.length) % buttons.length].focus();
  }
}
