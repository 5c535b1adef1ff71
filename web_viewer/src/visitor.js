// The visitor page (public, no login): find a service (search in Chinese, English or pinyin, or the catalogue by
// category), see where it is handled and the queue there, and follow the route drawn in the 3D hall across floors
// with its steps; "you are here" on a kiosk (/visitor?kiosk=ID, or ?from=ID), a QR code that opens the same route
// on a phone, a step-free mode, and evacuation guidance that takes the page over while a fire alarm is active.
// Only public routes are used (never /api/points). Address: ?kiosk=|from= &to= &mode=walk|accessible &lang=zh|en.
// window.hallVisitor exposes the page's state for tests (see the end of main()).
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { HallModel } from './model.js';
import { Stage } from './scene.js';
import { fetchHealth, startPage } from './shell.js';
import { api, getJson, reasonOf } from './visitor_api.js';
import { DetailPanel } from './visitor_detail.js';
import { EmergencyWatch, renderEvacuation } from './visitor_emergency.js';
import { fill } from './visitor_format.js';
import { isLoopback, qrBase, routeUrl } from './visitor_qr.js';
import { queueAt, queueBox } from './visitor_queue.js';
import { RouteView } from './visitor_route3d.js';
import { SearchPanel } from './visitor_search.js';
import { ZoneBrowser, isVisitorZone } from './visitor_zones.js';
import { el } from './dom.js';

// A kiosk left alone goes back to its start, so the next visitor does not start where the last one stopped.
const IDLE_RESET_MS = 90_000;
const QUEUE_REFRESH_MS = 10_000;
const CALLS_ON_HOME = 6;
const ENDED_NOTICE_MS = 15_000;
const ALARM_RED = 0xe53935;

const params = new URLSearchParams(location.search);
const hallVisitor = { state: 'loading', error: null, view: 'home', selected: null, floor: 'all' };
window.hallVisitor = hallVisitor;

async function loadModel() {
  const metadata = await getJson('/api/model/elements', null); // starts the conversion on a fresh server
  if (!metadata.ok) throw new Error(`/api/model/elements: ${reasonOf(metadata)}`);
  const response = await fetch('/api/model');
  if (!response.ok) throw new Error(`/api/model: HTTP ${response.status}`);
  const gltf = await new GLTFLoader().parseAsync(await response.arrayBuffer(), '');
  return { metadata: metadata.body, gltf };
}

async function bothLanguages() {
  const [zh, en] = await Promise.all(['zh', 'en'].map(async (lang) => {
    const files = await Promise.all([`/i18n/${lang}.json`, `/i18n/visitor.${lang}.json`].map((url) => getJson(url)));
    return Object.assign({}, ...files.map((f) => (f.ok ? f.body : {})));
  }));
  return { zh, en };
}

async function main({ i18n, setState }) {
  const texts = await bothLanguages();
  const t = (key) => i18n.t(key);
  const $ = (id) => document.getElementById(id);
  const [health, zoneList] = await Promise.all([fetchHealth(), getJson('/api/zones')]);
  const zones = zoneList.ok ? zoneList.body.zones ?? [] : [];
  const hallName = () => (health?.name ? i18n.name(health.name) : t('app.title'));

  // The building; without it the guide still helps, so a failure only replaces the picture.
  let model = null;
  let stage = null;
  try {
    stage = new Stage($('stage'));
    const { metadata, gltf } = await loadModel();
    model = new HallModel(gltf.scene, metadata, zones);
    stage.scene.add(gltf.scene);
    stage.frame(model.buildingBox());
    $('overlay').hidden = true;
  } catch (error) {
    console.error(error);
    $('overlay-text').removeAttribute('data-i18n');
    $('overlay-text').replaceChildren(t('visitor.error'));
    $('overlay').classList.add('error');
    hallVisitor.error = String(error.message ?? error);
  }
  const routeView = model ? new RouteView(model, stage) : null;

  // Where the visitor starts: the kiosk the page runs on, or a place named in the address (a QR code's start).
  const kioskId = params.get('kiosk');
  const state = {
    isKiosk: Boolean(kioskId),
    fromId: kioskId || params.get('from') || null,
    from: null, // {id, name, storey, xyz} once known
    kiosks: [],
    mode: params.get('mode') === 'accessible' ? 'accessible' : 'walk',
    view: 'home',
    destination: null,
    route: null,
    status: 'idle',
    routeError: null,
    queues: null,
    emergency: null,
    evacRoute: null,
    evacStatus: 'idle',
    pendingDestination: null,
  };
  const zoneById = new Map(zones.map((z) => [z.id, z]));
  const views = { home: $('home'), detail: $('detail'), 'pick-from': $('pick-from'), evacuation: $('evacuation') };
  const show = (view) => {
    state.view = view;
    hallVisitor.view = view;
    document.body.dataset.view = view;
    for (const [name, node] of Object.entries(views)) node.hidden = name !== view;
    document.querySelector('.guide').scrollTop = 0;
  };

  const zonesBrowser = new ZoneBrowser(i18n, zones, model, stage,
    { floorsNav: $('floors'), zonesBox: $('zones'), caption: $('stage-caption'), wholeHall: $('whole-hall') },
    (zone) => openById(`zone:${zone.id}`), hallName);

  const placeHere = () => {
    if (!routeView) return;
    const from = state.from;
    const label = state.view === 'evacuation' ? `${texts.zh['visitor.here']} ${texts.en['visitor.here']}`
      : state.isKiosk ? t('visitor.here') : from ? i18n.name(from.name) : '';
    routeView.setHere(from?.xyz ?? null, from?.storey ?? null, label);
  };

  // --- finding ------------------------------------------------------------------------------------------
  const search = new SearchPanel(i18n, {
    input: $('search'), clear: $('search-clear'), results: $('results'), homeBody: $('home-body'),
    quick: $('quick'), categories: $('categories'), categoryList: $('category-list'),
  }, () => state.fromId, (destination) => openDestination(destination));

  const openById = async (id) => {
    if (!search.all) await search.load();
    const destination = search.all?.find((d) => d.id === id);
    if (destination) openDestination(destination);
  };

  // --- the chosen destination and its route ----------------------------------------------------------------
  const detail = new DetailPanel(i18n, $('detail'), $('qr-card'), {
    back: () => goHome(),
    storey: (guid) => { if (routeView) { routeView.follow = false; routeView.stop(); routeView.showStorey(guid); } },
    replay: () => { if (routeView) { routeView.follow = true; routeView.play(0); } },
    step: (i) => {
      if (!routeView?.route) return;
      routeView.follow = true;
      routeView.stop();
      routeView.place(Math.min(0.999, detail.starts[i] ?? 0));
    },
    changeFrom: () => pickFrom(state.destination),
  });
  // The QR codes' server: site.public_url, else this page's own. A loopback address is of no use to a phone:
  // staff looking at the page (a session on this server) are told how to fix it; visitors see nothing of it.
  const qrOrigin = qrBase(health?.public_url);
  if (isLoopback(qrOrigin)) {
    console.warn(`visitor: the QR codes point at ${qrOrigin}, which no phone can open: set site.public_url`);
    fetch('/api/auth/me', { cache: 'no-store' }).then((response) => {
      if (!response.ok) return;
      detail.qrHint = () => fill(t('visitor.qr_loopback'), { origin: qrOrigin });
      hallVisitor.qrHint = true;
      if (state.view === 'detail') renderDetail();
    }).catch(() => { /* no answer: nothing to tell */ });
  }
  const renderDetail = () => {
    const destination = state.destination;
    if (!destination) return;
    const zone = zoneById.get(destination.zone);
    detail.render({
      destination: { ...destination, zone_name: zone && destination.kind !== 'room' ? i18n.name(zone.name) : '' },
      route: state.route, status: state.status, error: state.routeError,
      queue: queueAt(state.queues, destination), from: state.from, isKiosk: state.isKiosk,
      canChangeFrom: !state.isKiosk, mode: state.mode, shown: routeView?.shownStorey ?? 'all',
      qr: routeUrl({ to: destination.id, from: state.fromId, mode: state.mode, lang: i18n.lang }, qrOrigin),
    });
    if (routeView) detail.highlight(routeView.progress);
  };
  if (routeView) {
    routeView.onProgress = () => { if (state.view === 'detail') detail.highlight(routeView.progress); };
    routeView.onStorey = (storey) => detail.showFloor(storey);
  }

  const remember = () => {
    const query = new URLSearchParams();
    if (kioskId) query.set('kiosk', kioskId);
    else if (state.fromId) query.set('from', state.fromId);
    if (state.destination) query.set('to', state.destination.id);
    if (state.mode !== 'walk') query.set('mode', state.mode);
    if (params.get('lang')) query.set('lang', i18n.lang);
    const text = query.toString();
    history.replaceState(null, '', text ? `/visitor?${text}` : '/visitor');
  };

  let queueTimer = null;
  const refreshQueues = async () => {
    clearTimeout(queueTimer);
    const answer = await api.queues();
    state.queues = answer.ok ? answer.body : null;
    if (state.view === 'detail') { // only the queue box changes: the steps keep their place and highlight
      const box = document.querySelector('[data-testid=queue]');
      const found = queueAt(state.queues, state.destination);
      if (box && found) box.replaceWith(queueBox(t, found));
      else if (Boolean(box) !== Boolean(found)) renderDetail();
    }
    renderCalls();
    queueTimer = setTimeout(refreshQueues, QUEUE_REFRESH_MS);
  };

  let routeSeq = 0;
  const openDestination = async (destination) => {
    if (state.emergency) return;
    zonesBrowser.release();
    state.destination = destination;
    hallVisitor.destination = destination.id;
    if (!state.fromId) { pickFrom(destination); return; }
    show('detail');
    state.status = 'loading';
    state.route = null;
    routeView?.clear();
    renderDetail();
    remember();
    const seq = ++routeSeq;
    const answer = await api.route(state.fromId, destination.id, state.mode, i18n.lang);
    if (seq !== routeSeq || state.destination !== destination) return; // another choice meanwhile
    if (answer.ok && answer.body.ok) {
      state.route = answer.body;
      state.status = 'ok';
      state.from = { ...answer.body.from, id: answer.body.from.id ?? state.fromId };
      placeHere();
      routeView?.show(answer.body, state.mode, i18n.name(destination.name));
    } else {
      state.status = 'failed';
      state.routeError = answer.ok ? i18n.name(answer.body.message) || answer.body.reason
        : fill(t('visitor.nav_unavailable'), { reason: reasonOf(answer) });
    }
    hallVisitor.route = state.route;
    renderDetail();
    refreshQueues();
  };

  const goHome = () => {
    routeSeq += 1;
    state.destination = null;
    state.route = null;
    state.status = 'idle';
    hallVisitor.destination = null;
    hallVisitor.route = null;
    routeView?.clear();
    detail.showQr(null);
    show('home');
    if (model) { model.setStorey('all'); routeView.shownStorey = 'all'; routeView.applyVisibility(); stage.flyHome(); }
    remember();
  };

  // Where the visitor is (a phone does not know): the kiosks and the zones visitors come to.
  const places = () => [
    ...state.kiosks.map((k) => ({ id: k.id, name: k.name })),
    ...zones.filter(isVisitorZone).map((z) => ({ id: `zone:${z.id}`, name: z.name })),
  ];
  const pickFrom = (destination) => {
    state.pendingDestination = destination;
    show('pick-from');
    const back = el('button', { type: 'button', class: 'back', 'data-testid': 'back' }, t('visitor.back'));
    back.addEventListener('click', () => (state.destination && state.route ? show('detail') : goHome()));
    const grid = el('div', { class: 'result-list' }, ...places().map((place) => {
      const button = el('button', { type: 'button', class: 'result', 'data-place': place.id },
        el('span', { class: 'result-name' }, i18n.name(place.name)));
      button.addEventListener('click', () => {
        state.fromId = place.id;
        state.from = null;
        if (state.pendingDestination) openDestination(state.pendingDestination);
      });
      return button;
    }));
    $('pick-from').replaceChildren(el('div', { class: 'dest-head' }, back,
      el('h2', {}, t('visitor.pick_from'))), grid);
  };

  const setMode = (mode) => {
    state.mode = mode;
    $('access-toggle').setAttribute('aria-pressed', String(mode === 'accessible'));
    hallVisitor.mode = mode;
    if (state.view === 'detail' && state.destination) openDestination(state.destination);
    else remember();
  };
  $('access-toggle').addEventListener('click', () => setMode(state.mode === 'accessible' ? 'walk' : 'accessible'));
  $('access-toggle').setAttribute('aria-pressed', String(state.mode === 'accessible'));

  // The numbers called now, on the home screen (GB/T 40756 9.4.4.5).
  const renderCalls = () => {
    const box = $('calls');
    const calls = state.queues?.configured ? (state.queues.calls ?? []).slice(0, CALLS_ON_HOME) : [];
    box.hidden = !calls.length;
    box.replaceChildren(el('span', { class: 'label' }, t('visitor.calls')), ...calls.map((call) => el('span',
      { class: 'call' }, el('b', {}, call.ticket), fill(t('visitor.queue.at_window'), { window: call.window }))));
  };

  // --- emergency ----------------------------------------------------------------------------------------
  const banner = $('evac-banner');
  const renderEvac = () => {
    renderEvacuation($('evacuation'), texts, {
      signal: state.emergency, route: state.evacRoute, status: state.evacStatus, error: state.routeError,
      from: state.from ?? (state.fromId ? { name: { zh: state.fromId, en: state.fromId } } : null),
      isKiosk: state.isKiosk, places: places(),
    }, {
      pickFrom: (id) => { state.fromId = id; state.from = null; evacuate(); },
      changeFrom: () => { state.fromId = null; state.from = null; state.evacRoute = null; routeView?.clear(); renderEvac(); },
    });
  };
  const evacuate = async () => {
    renderEvac();
    if (!state.fromId) return;
    state.evacStatus = 'loading';
    renderEvac();
    const seq = ++routeSeq;
    const answer = await api.route(state.fromId, null, 'evacuation', 'zh');
    if (seq !== routeSeq || !state.emergency) return;
    if (answer.ok) {
      state.evacRoute = answer.body;
      state.evacStatus = answer.body.ok ? 'ok' : 'failed';
      state.from = { ...answer.body.from, id: answer.body.from.id ?? state.fromId };
      placeHere();
      if (answer.body.ok) {
        routeView?.show(answer.body, 'evacuation', `${texts.zh['visitor.kind.exit']} EXIT`);
      } else routeView?.clear();
    } else {
      state.evacStatus = 'failed';
      state.routeError = reasonOf(answer);
    }
    hallVisitor.evacRoute = state.evacRoute;
    renderEvac();
  };
  let endedTimer = null;
  const onEmergency = async (signal) => {
    hallVisitor.emergency = signal;
    clearTimeout(endedTimer);
    if (signal.active) {
      state.emergency = signal;
      const [zh, en] = [texts.zh, texts.en].map((x) => x[signal.drill ? 'visitor.evac.drill' : 'visitor.evac.title']);
      banner.replaceChildren(el('strong', { lang: 'zh-CN' }, zh), el('strong', { lang: 'en' }, en));
      banner.className = 'evac-banner';
      banner.hidden = false;
      document.body.dataset.emergency = 'on';
      zonesBrowser.release();
      detail.showQr(null);
      // The alarmed rooms in red, every other room neutral: where not to go reads at a glance.
      model?.setTints(new Map((signal.spaces ?? []).map((space) => [space, ALARM_RED])));
      show('evacuation');
      await evacuate();
      return;
    }
    if (!state.emergency) return;
    state.emergency = null;
    state.evacRoute = null;
    model?.setTints(null);
    document.body.dataset.emergency = 'off';
    banner.replaceChildren(el('strong', { lang: 'zh-CN' }, texts.zh['visitor.evac.ended']),
      el('strong', { lang: 'en' }, texts.en['visitor.evac.ended']));
    banner.className = 'evac-banner ended';
    endedTimer = setTimeout(() => { banner.hidden = true; }, ENDED_NOTICE_MS);
    if (state.isKiosk || !params.get('from')) state.from = null;
    state.fromId = kioskId || params.get('from') || null;
    goHome();
    placeHere();
  };
  const watch = new EmergencyWatch(onEmergency);

  // --- language and the rest of the page ----------------------------------------------------------------
  const render = () => {
    document.querySelector('.hall-name').textContent = hallName();
    document.title = `${hallName()} · ${t('visitor.page_title')}`;
    zonesBrowser.render();
    search.render();
    renderCalls();
    if (state.view === 'detail') {
      renderDetail();
      if (state.route) routeView?.relabel(i18n.name(state.destination.name));
    }
    if (state.view === 'pick-from') pickFrom(state.pendingDestination);
    if (state.isKiosk) placeHere();
  };
  i18n.onChange(() => {
    render();
    if (params.has('lang')) remember(); // an address that names the language follows the switch
  });
  render();

  let idle = null;
  const touched = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      if (state.emergency) return;
      if (state.view !== 'home') goHome();
      search.reset();
      if (zonesBrowser.selected !== null || zonesBrowser.floor !== 'all') zonesBrowser.showFloor('all');
      if (!state.isKiosk && !params.get('from')) { state.fromId = null; state.from = null; placeHere(); }
    }, IDLE_RESET_MS);
  };
  for (const type of ['pointerdown', 'keydown', 'wheel']) window.addEventListener(type, touched, { passive: true });
  touched();

  Object.assign(hallVisitor, {
    model, stage, i18n, routeView, search, watch, state,
    zones: () => zonesBrowser.ids(),
    select: (id) => zonesBrowser.select(id),
    showFloor: (floor) => zonesBrowser.showFloor(floor),
    readPixels: (step = 4) => stage.readPixels(step),
  });
  Object.defineProperties(hallVisitor, {
    selected: { get: () => zonesBrowser.selected },
    floor: { get: () => zonesBrowser.floor },
  });
  if (model) stage.renderNow();
  setState(model ? 'ready' : 'error', hallVisitor.error);

  // Data that may take a moment (the navigation graph is built when the server starts): after the page is up.
  watch.start();
  refreshQueues();
  const kiosks = await api.kiosks();
  state.kiosks = kiosks.ok ? kiosks.body : [];
  const kiosk = state.kiosks.find((k) => k.id === kioskId);
  if (kiosk) { state.from = kiosk; placeHere(); }
  if (state.view === 'evacuation') renderEvac(); // the kiosks are places a visitor may say they are at
  await search.load();
  hallVisitor.catalogue = true;
  const wanted = params.get('to');
  if (wanted && !state.emergency) await openById(wanted);
}

startPage('visitor', ['visitor'], main, { state: hallVisitor, session: false, lang: params.get('lang') });
