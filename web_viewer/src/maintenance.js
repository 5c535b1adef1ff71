// The maintenance page (/maintenance, maintenance crews, facility staff and admins; phone first): my work orders,
// open ones to take, today's inspection round, and one order at a time to acknowledge, start and resolve with a
// note and a photo. A QR code on a device or in a room opens /maintenance?device=ID or ?room=GUID: that place's
// orders, and a form to report a fault there; a page's link opens /maintenance?order=ID. Orders are refreshed when
// /ws tells of a change (maintenance_live.js), after every action, and every 15 s as the fallback; pages to the
// user's role (an overdue order, an alarm) are listed above the orders (pages_panel.js, shared with the desk).
// window.hallMaintenance exposes the state for tests: {state, lists, detail, round, pages, stream, target,
// lastRefresh}.
import { getJson, postJson } from './api.js';
import { PRIORITIES, PRIORITY_COLOURS } from './alarm_state.js';
import { SiteDevices } from './devices.js';
import { KeptRows, el, showInOrder } from './dom.js';
import { WorkOrderStream } from './maintenance_live.js';
import { OrderDetail, dueText } from './maintenance_order.js';
import { FloorPlans } from './maintenance_plan.js';
import { RoundPanel } from './maintenance_round.js';
import { PagesPanel } from './pages_panel.js';
import { startPage } from './shell.js';

const PAGE_ID = 'maintenance';
const REFRESH_MS = 15_000;
const hallMaintenance = { state: 'loading', error: null };
window.hallMaintenance = hallMaintenance;

// ?device=ID or ?room=GUID from a QR label (api/routes_rounds.py), or null.
export function qrTarget(search = location.search) {
  const query = new URLSearchParams(search);
  if (query.get('device')) return { kind: 'device', id: query.get('device') };
  if (query.get('room')) return { kind: 'room', id: query.get('room') };
  return null;
}

async function main({ i18n, shell, setState }) {
  const [devices, zoneList, metadata] = await Promise.all([
    SiteDevices.fetch(), getJson('/api/zones').catch(() => ({ zones: [] })), getJson('/api/model/elements').catch(() => null),
  ]);
  const zoneNames = new Map((zoneList.zones ?? []).map((zone) => [zone.id, zone.name]));
  const zoneName = (id) => i18n.name(zoneNames.get(id)) || id;
  const spaces = new Map((metadata?.spaces ?? []).map((space) => [space.guid, space]));
  const roomName = (guid) => {
    const space = spaces.get(guid);
    return space ? (i18n.ifcLine(space.long_name) || space.name) : guid;
  };
  const plans = metadata ? new FloorPlans(metadata, devices) : null;
  const target = qrTarget();
  const cards = document.querySelector('[data-testid=cards]');
  const listMessage = document.querySelector('[data-testid=list-message]');
  const lists = { mine: [], open: [], here: [] };
  let tab = target ? 'here' : 'mine';
  let selected = null;

  const detail = new OrderDetail(document.querySelector('[data-testid=order-detail]'), i18n, {
    me: shell.me, devices, plans, zoneName, roomName,
    onChanged: () => refresh(),
    onBack: () => { document.body.dataset.view = 'list'; selected = null; renderCards(); },
  });
  const round = new RoundPanel(cards, i18n, { devices, zoneName, onChanged: () => refresh() });
  const pages = new PagesPanel(document.querySelector('[data-testid=pages]'), i18n, {
    openOrder: (id) => open(id), orderHref: (id) => `/maintenance?order=${id}`, placeName: zoneName,
    cameraName: (id) => i18n.name(devices.byId.get(id)?.name) || id,
  });

  const open = (id) => {
    selected = id;
    document.body.dataset.view = 'detail';
    detail.show(id);
    renderCards();
    window.scrollTo(0, 0);
  };

  // Orders of the QR code's place: a device's own, or a room's (its orders, and its devices').
  const hereFilter = (order) => {
    if (!target) return false;
    if (target.kind === 'device') return order.device === target.id;
    const place = plans?.placeOf(order);
    return order.space_guid === target.id || order.ifc_guid === target.id || place?.space === target.id;
  };

  // cause: what asked for it ('stream', 'interval', 'start', 'action'); tests read hallMaintenance.lastRefresh.
  async function refresh(cause = 'action') {
    try {
      const [mine, unassigned, here] = await Promise.all([
        getJson('/api/workorders?assignee=me&active=true'),
        getJson('/api/workorders?status=open&limit=200'),
        target ? getJson(target.kind === 'device' ? `/api/workorders?device=${encodeURIComponent(target.id)}&limit=200` : '/api/workorders?limit=1000') : [],
        round.load(),
        pages.load(),
      ]);
      lists.mine = mine;
      lists.open = unassigned.filter((order) => !order.assignee);
      lists.here = here.filter(hereFilter);
      listMessage.hidden = true;
    } catch (error) {
      listMessage.textContent = `${i18n.t('maint.load_failed')} ${error.message}`;
      listMessage.hidden = false;
    }
    hallMaintenance.lastRefresh = cause;
    renderCards();
  }

  // A work order changed (someone assigned, created, escalated one...): the lists again, soon, once for a burst of
  // frames; the order on show again when someone else moved it (not while this user is typing in it).
  let pending = null;
  const changed = (frame = null) => {
    if (frame && frame.id === selected && detail.order && (frame.status !== detail.order.status || frame.assignee !== detail.order.assignee)
      && !document.querySelector('[data-testid=order-detail]').contains(document.activeElement)) detail.show(frame.id);
    if (pending) return;
    pending = setTimeout(() => { pending = null; refresh('stream'); }, 250);
  };
  const stream = new WorkOrderStream({
    onOrder: changed, onPage: (page) => pages.add(page), onOpen: () => changed(),
    onRoleChanged: () => shell.sessionLost('role_changed'),
    quietPoint: devices.points.keys().next().value ?? null,
  });

  // The lists are refreshed at every work-order change in the hall: a card is rebuilt only when what it shows
  // changed, so a tap on it is never lost to a refresh between touch and release.
  const empty = el('p', { class: 'muted empty' });
  const keptCards = new KeptRows({
    idOf: (order) => order.id,
    keyOf: (order) => JSON.stringify([i18n.lang, order.id === selected, order.status, order.priority, order.due_at,
      order.title, detail.where(order)]),
    build: (order) => card(order),
  });

  // The time left changes every minute: written into the kept card, not a reason to rebuild it.
  function showDue(order, button) {
    const due = button.querySelector('.due');
    due.textContent = dueText(order, i18n);
    due.classList.toggle('late', order.due_at < Date.now() / 1000);
    return button;
  }

  function card(order) {
    const t = (key) => i18n.t(key);
    const button = el('button', {
      type: 'button', class: `card order${order.id === selected ? ' selected' : ''}`, 'data-order': String(order.id),
      'data-status': order.status, 'data-testid': 'order-card', style: `--priority:${PRIORITY_COLOURS[order.priority]}`,
    },
    el('div', { class: 'card-head' },
      el('span', { class: 'priority', style: `background:${PRIORITY_COLOURS[order.priority]}` }, t(`alarm.priority.${order.priority}`)),
      el('span', { class: 'status', 'data-status': order.status }, t(`maint.status_${order.status}`)),
      el('span', { class: 'due' })), // showDue fills it
    el('strong', { class: 'card-title' }, `#${order.id} ${i18n.name(order.title)}`),
    el('span', { class: 'muted' }, detail.where(order) || '—'));
    button.addEventListener('click', () => open(order.id));
    return button;
  }

  function renderTarget() {
    const box = document.querySelector('[data-testid=target]');
    if (!target) return;
    const t = (key) => i18n.t(key);
    const device = target.kind === 'device' ? devices.byId.get(target.id) : null;
    const name = target.kind === 'device' ? (device ? i18n.name(device.name) : target.id) : roomName(target.id);
    const known = target.kind === 'device' ? Boolean(device) : spaces.has(target.id);
    const report = el('button', { type: 'button', class: 'primary', 'data-testid': 'report-fault' }, t('maint.report'));
    report.disabled = !known;
    report.addEventListener('click', () => box.append(reportForm(target, name)));
    const clear = el('a', { href: '/maintenance' }, t('maint.clear_target'));
    box.replaceChildren(
      el('div', {}, el('span', { class: 'muted' }, t(target.kind === 'device' ? 'maint.qr_device' : 'maint.qr_room')), ' ',
        el('strong', { 'data-testid': 'target-name' }, name)),
      ...(known ? [] : [el('p', { class: 'message error' }, t('maint.unknown_target'))]),
      el('div', { class: 'target-buttons' }, report, clear));
    box.hidden = false;
  }

  function reportForm(where, name) {
    const t = (key) => i18n.t(key);
    document.querySelector('.report-form')?.remove();
    const title = el('input', { required: '', maxlength: '200', placeholder: t('maint.report_title'), 'data-testid': 'report-title' });
    const priority = el('select', { 'data-testid': 'report-priority' }, ...PRIORITIES.map((p) => el('option', { value: p }, t(`alarm.priority.${p}`))));
    priority.value = 'medium';
    const message = el('p', { class: 'message error', hidden: '' });
    const form = el('form', { class: 'report-form' }, title, priority, el('button', { type: 'submit', class: 'primary' }, t('maint.report_send')), message);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = `${name}：${title.value.trim()}`;
      const body = { title: { zh: text, en: text }, priority: priority.value };
      if (where.kind === 'device') body.device = where.id; else body.space_guid = where.id;
      try {
        const order = await postJson('/api/workorders', body);
        form.remove();
        await refresh();
        open(order.id);
      } catch (error) {
        message.textContent = error.message;
        message.hidden = false;
      }
    });
    return form;
  }

  function renderCards() {
    const t = (key) => i18n.t(key);
    const segments = document.querySelector('[data-testid=segments]');
    if (target && !segments.querySelector('[data-tab=here]')) {
      segments.prepend(el('button', { type: 'button', role: 'tab', 'data-tab': 'here', 'aria-selected': 'false' },
        el('span', {}, t('maint.tab_here')), ' ', el('span', { class: 'n', 'data-count': 'here' })));
      segments.querySelector('[data-tab=here]').addEventListener('click', () => { tab = 'here'; renderCards(); });
    }
    for (const button of segments.querySelectorAll('[role=tab]')) button.setAttribute('aria-selected', String(button.dataset.tab === tab));
    for (const [name, list] of Object.entries(lists)) {
      const count = segments.querySelector(`[data-count=${name}]`);
      if (count) count.textContent = String(list.length);
    }
    segments.querySelector('[data-count=round]').textContent = String(round.openCount());
    if (tab === 'round') { round.render(); return; }
    const list = lists[tab];
    empty.textContent = t(`maint.empty_${tab}`);
    showInOrder(cards, list.length ? keptCards.rows(list).map((button, i) => showDue(list[i], button)) : [empty]);
  }

  for (const button of document.querySelectorAll('[data-testid=segments] [role=tab]')) {
    button.addEventListener('click', () => { tab = button.dataset.tab; renderCards(); });
  }
  i18n.onChange(() => {
    renderTarget();
    renderCards();
    detail.render();
    pages.render();
  });
  renderTarget();
  Object.assign(hallMaintenance, { lists, detail, round, pages, stream, target, open, refresh, tab: () => tab });
  await refresh('start');
  stream.connect();
  if (tab === 'mine' && !lists.mine.length && lists.open.length) { tab = 'open'; renderCards(); } // nothing of mine yet: what to take
  // A QR code of one place with one active order opens it at once.
  const active = lists.here.filter((order) => !['resolved', 'closed'].includes(order.status));
  if (target && active.length === 1) open(active[0].id);
  const linked = Number(new URLSearchParams(location.search).get('order')); // a page's link: /maintenance?order=ID
  if (Number.isInteger(linked) && linked > 0) open(linked);
  // The fallback when the stream is away (or a frame was lost): the lists every REFRESH_MS all the same.
  setInterval(() => { if (document.visibilityState === 'visible') refresh('interval'); }, REFRESH_MS);
  setState('ready');
}

startPage(PAGE_ID, ['alarms', 'maint', 'paging'], main, { state: hallMaintenance, refusal: 'maint.not_for_role' });
