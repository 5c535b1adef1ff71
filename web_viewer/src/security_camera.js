// The nearest camera of the selected alarm (the engine's choice, then the cameras the linkage surfaced): its
// name, and a refreshed snapshot where this server offers one (GET /api/cameras/{id}/snapshot, listed in its
// OpenAPI document) and the site enables it for that camera; otherwise the name alone, saying why.
import { el } from './dom.js';

const SNAPSHOT_EVERY_MS = 5000;
const SNAPSHOT_ROUTE = /^\/api\/cameras\/\{[^}]+\}\/snapshot$/;

export class CameraCard {
  constructor(card, i18n, devices) {
    this.card = card;
    this.i18n = i18n;
    this.devices = devices;
    this.cameras = [];
    this.snapshots = null; // whether the server has the snapshot route (asked once)
    this.timer = null;
    this.failed = new Set(); // cameras whose snapshot did not load
  }

  async snapshotRoute() {
    if (this.snapshots === null) {
      try {
        const response = await fetch('/openapi.json');
        const paths = response.ok ? Object.keys((await response.json()).paths ?? {}) : [];
        this.snapshots = paths.some((path) => SNAPSHOT_ROUTE.test(path));
      } catch {
        this.snapshots = false;
      }
    }
    return this.snapshots;
  }

  // cameras: device ids, nearest first (empty: the card hides)
  async show(cameras) {
    this.cameras = [...new Set(cameras.filter(Boolean))];
    clearInterval(this.timer);
    this.timer = null;
    if (this.cameras.length && await this.snapshotRoute()) {
      this.timer = setInterval(() => this.refreshImage(), SNAPSHOT_EVERY_MS);
    }
    this.render();
  }

  name(id) {
    const device = this.devices.byId.get(id);
    return device ? this.i18n.name(device.name) : id;
  }

  render() {
    const t = (key) => this.i18n.t(key);
    this.card.hidden = this.cameras.length === 0;
    if (!this.cameras.length) return;
    const [nearest, ...others] = this.cameras;
    const parts = [el('h4', {}, `${t('desk.camera')}: `, el('span', { 'data-testid': 'camera-name', 'data-camera': nearest }, this.name(nearest)))];
    if (this.snapshots && !this.failed.has(nearest)) {
      const image = el('img', { alt: this.name(nearest), 'data-testid': 'camera-snapshot', src: this.url(nearest) });
      image.addEventListener('error', () => { this.failed.add(nearest); this.render(); });
      parts.push(image);
    } else {
      parts.push(el('p', { class: 'muted', 'data-testid': 'camera-no-snapshot' },
        t(this.snapshots ? 'desk.camera_no_snapshot' : 'desk.camera_name_only')));
    }
    if (others.length) parts.push(el('p', { class: 'muted' }, `${t('desk.camera_others')} ${others.map((id) => this.name(id)).join('、')}`));
    this.card.replaceChildren(...parts);
  }

  url(id) { return `/api/cameras/${encodeURIComponent(id)}/snapshot?t=${Date.now()}`; }

  refreshImage() {
    const image = this.card.querySelector('img[data-testid=camera-snapshot]');
    if (image && !this.card.hidden) image.src = this.url(this.cameras[0]);
  }
}
