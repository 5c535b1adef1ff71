// The security desk (/security, security staff and admins): the open alarms by priority and time, the selected
// alarm's actions and emergency plan, the building with the alarm's rooms tinted and a flight to it, the nearest
// camera, the door panel, the alarm KPIs, a sound on a new critical alarm, the pages to security above the alarms
// (pages_panel.js: an emergency button's page, its room and camera, a click selecting its alarm; no sound of its
// own, the alarm's is enough), and (when present) the broadcast panel.
// Live through /ws (LiveData: point values, the engine's "alarms"/"alarm" frames, "page" frames); the pages are
// also reloaded every PAGES_REFRESH_MS and after a reconnection, as the fallback.
// window.hallSecurity exposes the state for tests: {state, feed, list, detail, scene, sound, kpis, doors, camera,
// pages}.
import { getJson } from './api.js';
import { needsAck } from './alarm_state.js';
import { SiteDevices } from './devices.js';
import { LiveData } from './live.js';
import { CameraCard } from './security_camera.js';
import { AlarmDetail } from './security_detail.js';
import { ConfirmDialog } from './security_dialog.js';
import { DoorPanel } from './security_doors.js';
import { KpiPanel } from './security_kpis.js';
import { DeskAlarmList } from './security_list.js';
import { PagesPanel } from './pages_panel.js';
import { DeskScene } from './security_scene.js';
import { AlarmSound } from './security_sound.js';
import { startPage } from './shell.js';

const PAGE_ID = 'security';
const PAGES_REFRESH_MS = 15_000;
const hallSecurity = { state: 'loading', error: null };
window.hallSecurity = hallSecurity;

async function main({ i18n, shell, setState }) {

  const [devices, zoneList] = await Promise.all([SiteDevices.fetch(), getJson('/api/zones').catch(() => ({ zones: [] }))]);
  const zones = zoneList.zones ?? [];
  const zoneNames = new Map(zones.map((zone) => [zone.id, zone.name]));
  const zoneName = (id) => i18n.name(zoneNames.get(id)) || id;
  const dialog = new ConfirmDialog(document.querySelector('dialog.confirm'), i18n);
  const sound = new AlarmSound(document.getElementById('sound-toggle'), i18n);
  const scene = new DeskScene(document.getElementById('stage'), document.getElementById('overlay'), i18n,
    document.querySelector('[data-testid=stage-storey]'), document.querySelector('[data-testid=stage-all]'));
  const camera = new CameraCard(document.querySelector('[data-testid=camera-card]'), i18n, devices);
  const doors = new DoorPanel(document.querySelector('[data-panel=doors]'), i18n, dialog);
  const kpis = new KpiPanel(document.querySelector('[data-panel=kpis]'), i18n);
  const badge = document.getElementById('live-status');
  let live = null;
  let pages = null;
  let lastStatus = null;
  const showStatus = () => {
    const status = live ? live.status : 'connecting';
    badge.dataset.status = status;
    badge.textContent = i18n.t(`status.${status}`);
    // Back after a break: pages made or acknowledged meanwhile came on no frame.
    if (status === 'connected' && lastStatus === 'reconnecting') pages?.load();
    lastStatus = status;
  };

  const tabs = [...document.querySelectorAll('.tabs [role=tab]')];
  const showTab = (name) => {
    for (const tab of tabs) tab.setAttribute('aria-selected', String(tab.dataset.tab === name));
    for (const panel of document.querySelectorAll('.tab-panel')) panel.hidden = panel.dataset.panel !== name;
    if (name === 'kpis') kpis.shown();
    if (name === 'doors') doors.refresh();
  };
  for (const tab of tabs) tab.addEventListener('click', () => showTab(tab.dataset.tab));

  live = new LiveData({
    onStatus: showStatus,
    onUnauthorized: (reason) => shell.sessionLost(reason),
    onChange: () => {},
  });
  const feed = live.alarms;
  const detail = new AlarmDetail(document.querySelector('[data-panel=detail]'), i18n, {
    me: shell.me, devices, zoneName, dialog, onAlarm: (alarm) => feed.upsert(alarm),
  });
  // An alarm to work on: its detail, the flight to its rooms, its zone's doors, its cameras.
  let focused = null;
  const focus = async (alarm) => {
    focused = alarm.id;
    showTab('detail');
    scene.flyTo(alarm);
    doors.setZone(alarm.zone);
    let cameras = [alarm.camera];
    detail.show(alarm);
    camera.show(cameras);
    try {
      cameras = [...cameras, ...(await getJson(`/api/alarms/${alarm.id}/linkage`)).cameras];
      if (focused === alarm.id) camera.show(cameras);
    } catch { /* the engine's nearest camera alone */ }
  };
  const list = new DeskAlarmList(document.querySelector('[data-testid=desk-alarms]'), i18n, feed, {
    zoneName,
    onMessage: (kind, text) => { detail.message = { kind, text }; detail.render(); },
    onSelect: focus,
  });
  // A page's alarm: selected in the list while open; one already over (reset) is shown from the server.
  const openAlarm = async (id) => {
    if (feed.get(id)) { list.select(id); return; }
    try {
      list.selected = null;
      list.render();
      await focus(await getJson(`/api/alarms/${id}`));
    } catch (error) {
      detail.message = { kind: 'error', text: `#${id}: ${error.message}` };
      detail.render();
    }
  };
  const cameraName = (id) => i18n.name(devices.byId.get(id)?.name) || id;
  pages = new PagesPanel(document.querySelector('[data-testid=pages]'), i18n, {
    withAcked: true, openAlarm, placeName: zoneName, cameraName,
    orderHref: (id) => (shell.me?.pages.some((page) => page.id === 'maintenance') ? `/maintenance?order=${id}` : null),
  });
  const criticalUnacked = () => feed.list().filter((a) => a.priority === 'critical' && needsAck(a)).length;
  feed.onChange((changed, transition) => {
    list.render();
    scene.showAlarms(feed.list());
    const fresh = Boolean(transition) && transition.alarm.priority === 'critical' && transition.alarm.state === 'unack'
      && (transition.previous === null || transition.event === 'raised');
    sound.setPending(criticalUnacked(), fresh);
    if (transition) detail.update(feed.get(transition.alarm.id) ?? transition.alarm);
    if (list.selected === null && feed.list().length) list.select(list.alarms()[0].id); // the worst one first
    kpis.soon();
  });
  document.querySelector('[data-testid=stage-all]').addEventListener('click', () => scene.showStorey('all'));

  i18n.onChange(() => {
    showStatus();
    list.render();
    detail.render();
    doors.render();
    camera.render();
    kpis.render();
    sound.render();
    pages.render();
    if (scene.model) scene.showStorey(scene.model.storeyFilter);
  });
  showStatus();
  list.render();
  Object.assign(hallSecurity, { feed, list, detail, scene, sound, kpis, doors, camera, pages, live, i18n, showTab });
  // Frames that are neither points nor alarms: pages here, the PA zones' states for the broadcast panel.
  const frameHandlers = [(frame) => { if (frame.type === 'page' && frame.page) pages.add(frame.page); }];
  live.onFrame = (frame) => { for (const handle of frameHandlers) handle(frame); };
  await pages.load();
  setInterval(() => pages.load(), PAGES_REFRESH_MS);
  setState('ready');
  live.start();
  doors.start();
  mountBroadcast(i18n, live, shell, frameHandlers);
  await scene.load(zones);
}

// The broadcast panel (web_viewer/src/broadcast_panel.js, issue 10) in its own tab, when this build has it.
async function mountBroadcast(i18n, live, shell, frameHandlers) {
  const slot = document.querySelector('[data-panel=broadcast]');
  let module;
  try {
    module = await import('./broadcast_panel.js');
  } catch {
    hallSecurity.broadcast = 'absent';
    return;
  }
  const context = { i18n, live, me: shell.me };
  try {
    const Panel = module.BroadcastPanel ?? module.default;
    let panel;
    if (typeof module.mountBroadcastPanel === 'function') panel = module.mountBroadcastPanel(slot, context);
    else if (typeof Panel === 'function') panel = new Panel(slot, i18n, context);
    else throw new Error('broadcast_panel.js exports no BroadcastPanel or mountBroadcastPanel');
    frameHandlers.push((frame) => panel?.update?.(frame)); // the PA zones' states as they change (/ws "broadcast")
    await (panel?.ready ?? panel?.start?.());
    document.querySelector('[data-tab=broadcast]').hidden = false;
    hallSecurity.broadcast = 'mounted';
  } catch (error) {
    console.error(error);
    hallSecurity.broadcast = `failed: ${error.message}`;
  }
}

// A role that may not use this page is told so (the API would refuse its actions anyway).
startPage(PAGE_ID, ['alarms', 'desk', 'broadcast', 'paging'], main, { state: hallSecurity, refusal: 'desk.not_for_role' });
