// One work order on the maintenance page: what, how urgent, due when, where (text and a small floor plan),
// its history and photo, and the next step for the crew: take it (acknowledge), start, resolve with a note and a
// photo from the phone's camera, or comment. Refusals are shown with the server's reason.
import { getJson, postJson } from './api.js';
import { PRIORITY_COLOURS } from './alarm_state.js';
import { el } from './dom.js';
import { durationText } from './format.js';

const PHOTO_MAX_SIDE = 1600; // px: a phone photo is scaled down before upload (the server limits the size)
const PHOTO_QUALITY = 0.85;

export function dueText(order, i18n, now = Date.now() / 1000) {
  if (['resolved', 'closed'].includes(order.status)) return '';
  const exact = order.due_at - now;
  const left = Math.abs(exact) >= 3600 ? Math.round(exact / 60) * 60 : Math.round(exact); // no seconds past an hour
  return left < 0 ? `${i18n.t('maint.overdue')} ${durationText(-left, i18n.lang)}` : `${i18n.t('maint.due_in')} ${durationText(left, i18n.lang)}`;
}

// A photo as the phone took it, scaled so its longer side is at most PHOTO_MAX_SIDE (JPEG); small ones as they are.
export async function shrinkPhoto(file) {
  if (!/^image\//.test(file.type)) return file;
  let bitmap;
  try { bitmap = await createImageBitmap(file); } catch { return file; } // not decodable here: the server judges it
  const scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && file.size < 1_000_000) return file;
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', PHOTO_QUALITY));
  return blob ? new File([blob], 'photo.jpg', { type: 'image/jpeg' }) : file;
}

export class OrderDetail {
  // section: the detail pane; plans: FloorPlans (or null); onChanged(order): an action's answer; onBack()
  constructor(section, i18n, { me, devices, plans, zoneName, roomName, onChanged, onBack }) {
    this.section = section;
    this.i18n = i18n;
    this.me = me;
    this.devices = devices;
    this.plans = plans;
    this.zoneName = zoneName;
    this.roomName = roomName;
    this.onChanged = onChanged;
    this.onBack = onBack;
    this.order = null;
    this.message = null;
    this.photo = null; // the chosen photo (File), kept across re-renders
  }

  async show(id) {
    this.message = null;
    this.photo = null;
    try {
      this.order = await getJson(`/api/workorders/${id}`);
    } catch (error) {
      this.order = null;
      this.message = { kind: 'error', text: error.message };
    }
    this.render();
  }

  async act(action, body) {
    try {
      this.order = await postJson(`/api/workorders/${this.order.id}/${action}`, body);
      this.message = { kind: 'ok', text: this.i18n.t(`maint.${action}_ok`) };
      this.onChanged(this.order);
    } catch (error) {
      this.message = { kind: 'error', text: `${this.i18n.t('maint.refused')} ${error.message}` };
    }
    this.render();
  }

  // Upload the photo first (a refused photo leaves the order in progress), then resolve with the note.
  async resolve(note, button) {
    button.disabled = true;
    try {
      if (this.photo) {
        const form = new FormData();
        form.append('photo', await shrinkPhoto(this.photo));
        await postJson(`/api/workorders/${this.order.id}/photo`, form);
      }
      this.order = await postJson(`/api/workorders/${this.order.id}/resolve`, { note });
      this.photo = null;
      this.message = { kind: 'ok', text: this.i18n.t('maint.resolve_ok') };
      this.onChanged(this.order);
    } catch (error) {
      this.message = { kind: 'error', text: `${this.i18n.t('maint.refused')} ${error.message}` };
    }
    this.render();
  }

  where(order) {
    const parts = [];
    const device = order.device ? this.devices.byId.get(order.device) : null;
    if (device) parts.push(this.i18n.name(device.name));
    else if (order.device) parts.push(order.device);
    if (order.space_guid) parts.push(this.roomName(order.space_guid));
    if (order.zone) parts.push(this.zoneName(order.zone));
    return [...new Set(parts.filter(Boolean))].join(' · ');
  }

  render() {
    const t = (key) => this.i18n.t(key);
    const back = el('button', { type: 'button', class: 'back', 'data-testid': 'back' }, `‹ ${t('maint.back')}`);
    back.addEventListener('click', () => this.onBack());
    const order = this.order;
    if (!order) {
      this.section.replaceChildren(back, el('p', { class: this.message ? 'message error' : 'muted' }, this.message?.text ?? t('maint.pick_order')));
      return;
    }
    const lang = this.i18n.lang;
    const facts = [
      ['maint.status', t(`maint.status_${order.status}`)],
      ['maint.due', dueText(order, this.i18n) || new Date(order.due_at * 1000).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB')],
      ['maint.where', this.where(order) || '—'],
      ['maint.assignee', order.assignee ?? t('maint.nobody')],
      ['maint.source', order.alarm_id ? `${t('maint.source_alarm')} #${order.alarm_id}` : t(`maint.source_${order.source}`)],
    ];
    const place = this.plans?.placeOf(order) ?? null;
    const plan = place ? this.plans.draw(place, (room) => room.name) : null;
    this.section.replaceChildren(
      back,
      el('div', { class: 'order-head' },
        el('span', { class: 'priority', style: `background:${PRIORITY_COLOURS[order.priority]}` }, t(`alarm.priority.${order.priority}`)),
        el('span', { class: 'status', 'data-status': order.status, 'data-testid': 'order-status' }, t(`maint.status_${order.status}`)),
        ...(order.escalated ? [el('span', { class: 'tag escalated' }, t('maint.escalated'))] : []),
        ...(order.drill ? [el('span', { class: 'tag drill' }, t('alarm.drill'))] : [])),
      el('h2', { class: 'order-title', 'data-testid': 'order-title' }, `#${order.id} ${this.i18n.name(order.title)}`),
      ...(order.description ? [el('p', { class: 'description' }, order.description)] : []),
      el('dl', { class: 'facts' }, ...facts.flatMap(([key, value]) => [el('dt', {}, t(key)), el('dd', {}, value)])),
      ...(this.message ? [el('p', { class: `message ${this.message.kind}`, role: 'status', 'data-testid': 'order-message' }, this.message.text)] : []),
      this.actions(order),
      ...(plan ? [el('figure', { class: 'plan' }, plan, el('figcaption', {}, `${this.i18n.ifcLine(this.plans.storeyName(place.storey), 'storey')} · ${this.where(order)}`))] : []),
      ...(order.photo ? [el('figure', { class: 'photo' }, el('img', { src: `/api/workorders/${order.id}/photo?v=${order.events.length}`, alt: t('maint.photo'), 'data-testid': 'order-photo' }))] : []),
      ...(order.note ? [el('p', { class: 'resolution' }, `${t('maint.resolution')}: ${order.note}`)] : []),
      this.history(order),
    );
  }

  actions(order) {
    const t = (key) => this.i18n.t(key);
    const mine = !order.assignee || order.assignee === this.me?.name;
    const box = el('div', { class: 'order-actions', 'data-testid': 'order-actions' });
    const button = (action, primary = false) => {
      const b = el('button', { type: 'button', class: primary ? 'primary' : '', 'data-testid': `order-${action}` }, t(`maint.${action}`));
      b.addEventListener('click', () => { b.disabled = true; this.act(action); });
      box.append(b);
    };
    if (!mine && !['resolved', 'closed'].includes(order.status)) box.append(el('p', { class: 'muted' }, `${t('maint.someone_elses')} ${order.assignee}`));
    else if (['open', 'assigned'].includes(order.status)) { button('acknowledge', true); button('start'); }
    else if (order.status === 'acknowledged') button('start', true);
    else if (order.status === 'in_progress') box.append(this.resolveForm());
    box.append(this.commentForm());
    return box;
  }

  resolveForm() {
    const t = (key) => this.i18n.t(key);
    const note = el('textarea', { name: 'note', rows: '3', required: '', maxlength: '4000', 'data-testid': 'resolve-note', placeholder: t('maint.note_placeholder') });
    // capture: a phone opens its rear camera; a desktop browser offers a file instead.
    const input = el('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp', capture: 'environment', 'data-testid': 'resolve-photo', class: 'photo-input' });
    const preview = el('div', { class: 'preview', 'data-testid': 'photo-preview' });
    const showPreview = () => {
      preview.replaceChildren();
      if (!this.photo) return;
      const image = el('img', { alt: t('maint.photo') });
      image.src = URL.createObjectURL(this.photo);
      preview.append(image, el('span', {}, `${this.photo.name} · ${Math.round(this.photo.size / 1024)} KB`));
    };
    input.addEventListener('change', () => { this.photo = input.files?.[0] ?? null; showPreview(); });
    showPreview();
    const submit = el('button', { type: 'submit', class: 'primary', 'data-testid': 'order-resolve' }, t('maint.resolve'));
    const form = el('form', { class: 'resolve-form', 'data-testid': 'resolve-form' },
      el('label', { class: 'field' }, el('span', {}, t('maint.note')), note),
      el('label', { class: 'photo-button' }, el('span', {}, `📷 ${t('maint.take_photo')}`), input),
      preview, submit);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!note.value.trim()) { note.setCustomValidity(t('maint.note_needed')); form.reportValidity(); note.setCustomValidity(''); return; }
      this.resolve(note.value.trim(), submit);
    });
    return form;
  }

  commentForm() {
    const t = (key) => this.i18n.t(key);
    const text = el('input', { name: 'note', maxlength: '4000', placeholder: t('maint.comment_placeholder'), 'data-testid': 'order-comment-text' });
    const form = el('form', { class: 'comment-form' }, text, el('button', { type: 'submit' }, t('maint.comment')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (text.value.trim()) this.act('comment', { note: text.value.trim() });
    });
    return form;
  }

  history(order) {
    const t = (key) => this.i18n.t(key);
    const locale = this.i18n.lang === 'zh' ? 'zh-CN' : 'en-GB';
    return el('section', { class: 'history' }, el('h3', {}, t('maint.history')),
      el('ol', {}, ...[...order.events].reverse().map((event) => el('li', {},
        el('span', { class: 'when' }, new Date(event.at * 1000).toLocaleString(locale, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })),
        ' ', el('strong', {}, this.i18n.has(`maint.event_${event.kind}`) ? t(`maint.event_${event.kind}`) : event.kind),
        ` · ${event.by}`, event.note ? ` · ${event.note}` : ''))));
  }
}
