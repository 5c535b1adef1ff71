// The operations big screen (/bigscreen, managers and admins; T/ZAS 4012 7.3.2, GB/T 40756 9.8.4.9): people in the
// hall now and today's curve, entrances, queues and waits per service, windows and the numbers they call, open
// alarms and work orders, electricity today, satisfaction. /api/bigscreen gives the day so far; /ws keeps it live
// (point values of the people counters, the engine's alarms, the queue analytics' "queues" frames).
// window.hallScreen exposes the state for tests: {state, overview, queues, alarms, orders}.
import { getJson } from './api.js';
import { ScreenCharts } from './bigscreen_charts.js';
import { LiveData } from './live.js';
import { startPage } from './shell.js';

const PAGE_ID = 'bigscreen';
const OVERVIEW_EVERY_MS = 60_000;
const ORDERS_EVERY_MS = 30_000;
const screen = { state: 'loading', overview: null, queues: null, orders: {}, error: null };
window.hallScreen = screen;

// LiveData plus the queue analytics' frames.
class ScreenLive extends LiveData {
  constructor(options, onQueues) {
    super(options);
    this.onQueues = onQueues;
  }

  receive(text) {
    if (text.startsWith('{"type":"queues"') || text.startsWith('{"type": "queues"')) {
      try { this.onQueues(JSON.parse(text).queues); } catch { /* a broken frame: the next one comes */ }
      return;
    }
    super.receive(text);
  }
}

function fmt(text, values) { return text.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? ''); }

class Screen {
  constructor(i18n) {
    this.i18n = i18n;
    this.charts = new ScreenCharts(document.querySelector('main.screen'), i18n);
    this.kpis = new Map([...document.querySelectorAll('.kpi')].map((node) => [node.dataset.kpi, node]));
    this.groups = document.querySelector('[data-testid=window-groups]');
  }

  kpi(name, value, note = '', level = '') {
    const node = this.kpis.get(name);
    node.querySelector('.kpi-value').textContent = value ?? '–';
    node.querySelector('.kpi-note').textContent = note;
    node.dataset.level = level;
  }

  render() {
    const t = (k) => this.i18n.t(k);
    const o = screen.overview;
    if (o) {
      this.kpi('people', o.people_now == null ? '–' : Math.round(o.people_now).toLocaleString());
      this.kpi('in', o.in_today.toLocaleString(), fmt(t('screen.out_today'), { n: o.out_today.toLocaleString() }));
      this.kpi('energy', o.energy_today_kwh == null ? '–' : `${Math.round(o.energy_today_kwh).toLocaleString()}`,
        t('screen.kwh'));
      this.charts.people(o.people_curve, o.day_start);
      this.charts.entrances(o.entrances);
      this.charts.energy(o.energy);
    }
    this.renderQueues();
    this.renderAlarms();
  }

  renderQueues() {
    const t = (k) => this.i18n.t(k);
    const q = screen.queues;
    if (!q || !q.services?.length) {
      for (const name of ['waiting', 'wait', 'windows', 'satisfaction']) this.kpi(name, '–', t('screen.no_queue'));
      this.groups.textContent = t('screen.no_queue');
      this.charts.queues(null);
      return;
    }
    const waiting = q.services.reduce((sum, s) => sum + s.waiting, 0);
    const p90 = Math.max(0, ...q.services.map((s) => s.wait_p90_s ?? 0)) / 60;
    const longest = Math.max(0, ...q.services.map((s) => s.longest_wait_s ?? 0)) / 60;
    const open = q.groups.reduce((sum, g) => sum + g.windows_open, 0);
    const total = q.groups.reduce((sum, g) => sum + g.windows_total, 0);
    const rated = q.services.filter((s) => s.satisfaction != null);
    const ratings = rated.reduce((sum, s) => sum + s.ratings, 0);
    const satisfaction = ratings ? rated.reduce((sum, s) => sum + s.satisfaction * s.ratings, 0) / ratings : null;
    const opening = q.groups.filter((g) => g.action === 'open' || g.action === 'redirect').length;
    this.kpi('waiting', waiting.toLocaleString(), '', waiting > 10 * Math.max(open, 1) ? 'warn' : '');
    this.kpi('wait', `${p90.toFixed(0)} ${t('screen.minutes')}`, fmt(t('screen.longest'), { n: longest.toFixed(0) }),
      longest > 30 ? 'alarm' : longest > 15 ? 'warn' : '');
    this.kpi('windows', `${open} / ${total}`, '', opening ? 'warn' : '');
    this.kpi('satisfaction', satisfaction == null ? '–' : satisfaction.toFixed(2),
      ratings ? fmt(t('screen.ratings'), { n: ratings }) : t('screen.no_ratings'));
    this.charts.queues(q);
    this.renderWindows(q);
  }

  renderWindows(q) {
    const rows = q.groups.map((group) => {
      const row = document.createElement('div');
      row.className = 'window-group';
      row.dataset.group = group.id;
      const name = document.createElement('span');
      name.className = 'group-name';
      name.innerHTML = '';
      const strong = document.createElement('b');
      strong.textContent = `${group.windows_open}/${group.windows_total}`;
      name.append(`${this.i18n.name(group.name).replace(/窗口$|windows$/i, '')} `, strong);
      const chips = document.createElement('span');
      chips.className = 'chips';
      for (const window_ of group.windows) {
        const chip = document.createElement('span');
        chip.className = 'win-chip';
        chip.dataset.open = String(window_.open);
        chip.dataset.busy = String(window_.busy);
        chip.textContent = window_.window;
        const ticket = document.createElement('small');
        ticket.textContent = window_.open ? (window_.ticket ?? '') : this.i18n.t('screen.closed');
        chip.append(ticket);
        chips.append(chip);
      }
      row.append(name, chips);
      if (group.action === 'open' || group.action === 'redirect') {
        const advice = document.createElement('span');
        advice.className = 'advice';
        advice.dataset.testid = 'advice';
        advice.textContent = this.i18n.name(group.advice);
        row.append(advice);
      }
      return row;
    });
    this.groups.replaceChildren(...rows);
  }

  renderAlarms() {
    const t = (k) => this.i18n.t(k);
    const byPriority = { critical: 0, high: 0, medium: 0, low: 0 };
    let unacked = 0;
    for (const alarm of screen.alarms ?? []) {
      if (!alarm.active && !['unack', 'rtn_unack'].includes(alarm.state)) continue;
      byPriority[alarm.priority] = (byPriority[alarm.priority] ?? 0) + 1;
      if (['unack', 'rtn_unack'].includes(alarm.state)) unacked += 1;
    }
    const open = Object.values(byPriority).reduce((a, b) => a + b, 0);
    this.kpi('alarms', String(open), fmt(t('screen.unacked'), { n: unacked }),
      byPriority.critical ? 'alarm' : open ? 'warn' : '');
    this.charts.alarms(byPriority, screen.orders);
  }
}

async function main({ i18n, shell, setState }) {
  const zoom = () => document.body.style.setProperty('--screen-zoom', String(innerWidth / 1920));
  zoom();
  addEventListener('resize', zoom);
  const view = new Screen(i18n);
  const clock = document.querySelector('[data-testid=screen-clock]');
  const tick = () => { clock.textContent = new Date().toLocaleString(i18n.lang === 'zh' ? 'zh-CN' : 'en-GB'); };
  tick();
  setInterval(tick, 1000);

  const loadOverview = async () => {
    try {
      screen.overview = await getJson('/api/bigscreen');
      if (screen.overview.queues) screen.queues = screen.overview.queues;
      view.render();
    } catch (error) { console.warn('big screen: /api/bigscreen', error); }
  };
  const loadOrders = async () => {
    try {
      const orders = await getJson('/api/workorders?active=true&limit=1000');
      const counts = {};
      for (const order of orders) counts[order.status] = (counts[order.status] ?? 0) + 1;
      screen.orders = counts;
      view.renderAlarms();
    } catch (error) { console.warn('big screen: /api/workorders', error); }
  };
  const badge = document.getElementById('live-status');
  let live = null;
  const showStatus = () => {
    const status = live ? live.status : 'connecting';
    badge.dataset.status = status;
    badge.textContent = i18n.t(`status.${status}`);
  };
  // Counter values move the "people now" and "entered today" figures between two overview loads.
  const counterIds = new Set();
  live = new ScreenLive({
    onStatus: showStatus,
    onUnauthorized: (reason) => shell.sessionLost(reason),
    onChange: () => {
      const o = screen.overview;
      if (!o || !counterIds.size) return;
      let inside = 0;
      let seen = false;
      for (const id of counterIds) {
        const sample = live.samples.get(id);
        if (!sample || sample.q !== 'GOOD' || typeof sample.v !== 'number') continue;
        seen = true;
        inside += id.endsWith('count_in') ? sample.v : -sample.v;
      }
      if (seen && Math.round(Math.max(0, inside)) !== o.people_now) {
        o.people_now = Math.max(0, Math.round(inside));
        view.kpi('people', o.people_now.toLocaleString());
      }
    },
  }, (queues) => { screen.queues = queues; view.renderQueues(); });
  live.alarms.onChange(() => { screen.alarms = live.alarms.list(); view.renderAlarms(); });
  await loadOverview();
  for (const entrance of screen.overview?.entrances ?? []) {
    counterIds.add(`${entrance.device}.count_in`);
    counterIds.add(`${entrance.device}.count_out`);
  }
  await loadOrders();
  live.start();
  setInterval(loadOverview, OVERVIEW_EVERY_MS);
  setInterval(loadOrders, ORDERS_EVERY_MS);
  i18n.onChange(() => { showStatus(); tick(); view.render(); });
  showStatus();
  Object.assign(screen, { view, live, i18n });
  setState('ready');
}

startPage(PAGE_ID, ['bigscreen'], main, { state: screen, refusal: 'screen.not_for_role' });
