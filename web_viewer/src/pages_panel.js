// Pages to staff as a panel of a staff page (the maintenance page, the security desk): GET /api/pages gives the
// user's role's pages (admins see all) about an alarm (an emergency button, a fire: with its room and nearest
// camera) or an overdue work order; each shows its reason and title, links to what it is about, and has a button
// to acknowledge it (POST /api/pages/{id}/ack, which keeps who and when). Unacknowledged pages come first; a
// panel may show the acknowledged ones after them, with who saw them. add() takes the /ws "page" frames (a new
// page, or one acknowledged at another desk); load() is the fallback refresh, and never undoes what a frame
// brought while it was on its way. Texts: the "paging" i18n bundle.
import { getJson, postJson } from './api.js';
import { timeText } from './alarm_state.js';
import { KeptRows, el, showInOrder } from './dom.js';

const ACKED_SHOWN = 5; // acknowledged pages kept in view (the newest): enough to see who took the last ones

// Unacknowledged first, then the newest first.
function byUrgency(a, b) {
  return Number(a.acked_at != null) - Number(b.acked_at != null) || b.created_at - a.created_at || b.id - a.id;
}

export class PagesPanel {
  // box: the panel's element. Options: withAcked (false: only pages nobody acknowledged); openAlarm(id) and
  // openOrder(id) show what a page is about on this page (null: its title is not a link; an order's page then
  // links to orderHref(id) when that gives one); placeName(zone id) and cameraName(device id) for the words.
  constructor(box, i18n, {
    withAcked = false, openAlarm = null, openOrder = null, orderHref = () => null,
    placeName = (zone) => zone, cameraName = (camera) => camera, limit = 50,
  } = {}) {
    this.box = box;
    this.i18n = i18n;
    Object.assign(this, { withAcked, openAlarm, openOrder, orderHref, placeName, cameraName, limit });
    this.pages = [];
    this.error = null; // what went wrong last, in words (a load or an acknowledgement)
    this.loads = 0; // completed loads (tests read it)
    this.frames = 0; // /ws page frames taken
    // Per load on its way: the pages heard meanwhile (frames, acknowledgements), newer than what it will answer.
    this.heardDuringLoads = new Set();
    // The panel is redrawn at every page frame: its heading, list and unchanged rows stay the same elements, so
    // a press on an acknowledge button or a link is not lost to a redraw between press and release.
    this.count = el('span', { class: 'page-count', 'data-testid': 'page-count' });
    this.problem = el('p', { class: 'message error', role: 'alert', hidden: '' });
    this.list = el('ul');
    this.heading = el('h2', {}, '', ' ', this.count);
    this.rows = new KeptRows({
      idOf: (page) => page.id, keyOf: (page) => this.rowKey(page), build: (page) => this.item(page),
    });
  }

  unacked() { return this.pages.filter((page) => page.acked_at == null); }

  async load() {
    const query = `limit=${this.limit}${this.withAcked ? '' : '&unacked=true'}`;
    const heard = new Map();
    this.heardDuringLoads.add(heard);
    try {
      const loaded = await getJson(`/api/pages?${query}`);
      this.keep([...heard.values(), ...loaded.filter((page) => !heard.has(page.id))]);
      this.error = null;
    } catch (error) {
      this.error = `${this.i18n.t('paging.failed')} ${error.message}`;
    } finally {
      this.heardDuringLoads.delete(heard);
    }
    this.loads += 1;
    this.render();
  }

  // A page frame from /ws: a new page, or a known one now acknowledged (perhaps at another desk).
  add(page) {
    this.frames += 1;
    this.update(page);
    this.render();
  }

  // A newer state of one page (a frame, or the answer to our acknowledgement): a page is only ever acknowledged,
  // so this state stays the newest, also over the answer of a load that was asked for before it.
  update(page) {
    for (const heard of this.heardDuringLoads) heard.set(page.id, page);
    this.keep([page, ...this.pages.filter((known) => known.id !== page.id)]);
  }

  keep(pages) {
    const sorted = [...pages].sort(byUrgency);
    const open = sorted.filter((page) => page.acked_at == null);
    this.pages = this.withAcked ? [...open, ...sorted.filter((page) => page.acked_at != null).slice(0, ACKED_SHOWN)] : open;
  }

  async ack(page, button) {
    button.disabled = true;
    try {
      this.update(await postJson(`/api/pages/${page.id}/ack`));
      this.error = null;
    } catch (error) {
      this.error = `${this.i18n.t('paging.ack_failed')} ${error.message}`;
      button.disabled = false; // the row is kept (nothing changed): it may be pressed again
    }
    this.render();
  }

  render() {
    showInOrder(this.list, this.rows.rows(this.pages));
    if (!this.pages.length && !this.error) {
      this.box.hidden = true;
      return;
    }
    const waiting = String(this.unacked().length);
    this.heading.firstChild.textContent = this.i18n.t('paging.title');
    this.count.textContent = waiting;
    this.count.dataset.count = waiting;
    this.problem.textContent = this.error ?? '';
    this.problem.hidden = !this.error;
    showInOrder(this.box, [this.heading, this.problem, this.list]);
    this.box.hidden = false;
  }

  // Everything item() shows of a page, so that an unchanged page keeps its row.
  rowKey(page) {
    return JSON.stringify([
      this.i18n.lang, this.i18n.name(page.title), page.zone && this.placeName(page.zone),
      page.camera && this.cameraName(page.camera), page.acked_at, page.acked_by, page.created_at, page.drill,
      page.work_order_id, page.alarm_id,
    ]);
  }

  item(page) {
    const t = (key) => this.i18n.t(key);
    const order = page.work_order_id != null;
    const title = `${order ? `#${page.work_order_id} ` : ''}${this.i18n.name(page.title)}`;
    let heading = el('strong', { class: 'page-title' }, title);
    const open = order ? this.openOrder : this.openAlarm;
    const href = order ? this.orderHref(page.work_order_id) : null;
    if (open || href) {
      const attributes = { class: 'page-title', 'data-testid': order ? 'page-order' : 'page-alarm' };
      heading = href ? el('a', { ...attributes, href }, title) : el('button', { ...attributes, type: 'button' }, title);
      if (open) {
        heading.addEventListener('click', (event) => {
          event.preventDefault();
          open(order ? page.work_order_id : page.alarm_id);
        });
      }
    }
    const facts = [];
    if (page.zone) facts.push(el('span', { 'data-testid': 'page-room' }, `${t('paging.room')} ${this.placeName(page.zone)}`));
    if (page.camera) facts.push(el('span', { 'data-testid': 'page-camera' }, `${t('paging.camera')} ${this.cameraName(page.camera)}`));
    facts.push(el('span', {}, timeText(page.created_at * 1000, this.i18n.lang)));
    if (page.drill) facts.push(el('span', { class: 'tag drill' }, t('alarm.drill')));
    let end;
    if (page.acked_at == null) {
      end = el('button', { type: 'button', class: 'page-ack', 'data-testid': 'page-ack' }, t('paging.ack'));
      end.addEventListener('click', () => this.ack(page, end));
    } else {
      end = el('span', { class: 'page-acked', 'data-testid': 'page-acked' },
        t('paging.acked_by').replace('{who}', page.acked_by).replace('{time}', timeText(page.acked_at * 1000, this.i18n.lang)));
    }
    return el('li', {
      class: 'page', 'data-page': String(page.id), 'data-testid': 'page', 'data-acked': String(page.acked_at != null),
      ...(page.alarm_id != null ? { 'data-alarm': String(page.alarm_id) } : {}),
    }, el('span', { class: 'page-reason' }, order ? t('paging.overdue') : t('paging.alarm')), heading, end,
    el('span', { class: 'page-facts' }, ...facts));
  }
}
