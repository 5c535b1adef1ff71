// The 3D hall viewer: loads the building and its metadata, wires storeys, picking, legend, live colouring,
// the alarm list and (in the demo) the scenario panel.
// window.hallTwin exposes the state and a few read-only helpers for tests and kiosk tours.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { AlarmList } from './alarms.js';
import { BarFit } from './bar_fit.js';
import { StaticBatches } from './batches.js';
import { MarkerChooser } from './chooser.js';
import { SiteDevices } from './devices.js';
import { renderLegend } from './legend.js';
import { LiveData } from './live.js';
import { HeatmapLayer } from './heatmap_layer.js';
import { DeviceMarkers } from './markers.js';
import { HallModel } from './model.js';
import { InfoPanel } from './panel.js';
import { Picker, prepareBvh } from './picking.js';
import { RoomLabels } from './labels.js';
import { Search } from './search.js';
import { METRICS, RoomTints } from './tint.js';
import { ScenarioPanel } from './scenarios.js';
import { Stage } from './scene.js';
import { startPage } from './shell.js';

const CLICK_SLOP_PX = 5; // a pointer that moved further was orbiting, not clicking
const BLINK_MS = 600;
const SELECTION_COLOUR = 0x1565c0;
const CONVERTING_HINT_MS = 1500;

const hallTwin = { ready: false, state: 'loading', error: null };
window.hallTwin = hallTwin;

class ModelLoadError extends Error {}

async function fetchOrExplain(url, as) {
  const response = await fetch(url);
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try { detail = (await response.json()).detail ?? detail; } catch { /* not JSON: keep the status */ }
    throw new ModelLoadError(`${url}: ${detail}`);
  }
  return as === 'json' ? response.json() : response.arrayBuffer();
}

// The shared start first (shell.js): without a session the page goes to /login before loading the building.
async function main({ i18n, shell, setState: setPageState }) {
  const setState = (state, error = null) => {
    hallTwin.ready = state === 'ready';
    setPageState(state, error);
  };
  document.getElementById('live-status').textContent = i18n.t('status.connecting'); // until the model is in
  const overlay = document.getElementById('overlay');
  const overlayText = document.getElementById('overlay-text');
  const stage = new Stage(document.getElementById('stage'));
  const slowHint = setTimeout(() => { overlayText.dataset.i18n = 'model.converting'; i18n.apply(overlay); }, CONVERTING_HINT_MS);

  let metadata; let zones; let gltf; let devices;
  try {
    // The elements request starts the conversion on a fresh server; the GLB then comes from the same result.
    [metadata, zones, devices] = await Promise.all([
      fetchOrExplain('/api/model/elements', 'json'), fetchZones(), SiteDevices.fetch(),
    ]);
    const glb = await fetchOrExplain('/api/model', 'binary');
    gltf = await new GLTFLoader().parseAsync(glb, '');
  } catch (error) {
    clearTimeout(slowHint);
    overlayText.replaceChildren(i18n.t('model.error'), document.createElement('br'), String(error.message ?? error));
    overlayText.removeAttribute('data-i18n');
    overlay.classList.add('error');
    setState('error', String(error.message ?? error));
    return;
  }
  clearTimeout(slowHint);

  const model = new HallModel(gltf.scene, metadata, zones);
  prepareBvh(gltf.scene);
  stage.scene.add(gltf.scene);
  // Elements that devices or points are bound to keep their own meshes: their colours follow live states.
  const boundGuids = new Set([...devices.guids(), ...devices.list.flatMap((d) => d.points.map((p) => p.ifc_guid))]);
  const batches = new StaticBatches(model, stage.scene, boundGuids);
  const dock = document.getElementById('dock');
  const measureDock = () => stage.setLeftInset(dock.offsetWidth > 0 ? dock.offsetLeft + dock.offsetWidth : 0);
  measureDock();
  new ResizeObserver(measureDock).observe(dock);
  stage.frame(model.buildingBox());
  const markers = new DeviceMarkers(model, stage.scene, devices);
  // Every device of the site has its marker from the start; one with no point that the gateway does not poll
  // (a camera listed for the record) is "not monitored", not "no data yet".
  for (const guid of devices.guids()) {
    if (model.info.has(guid)) markers.setState(guid, devices.monitored(guid) ? 'unknown' : 'unmonitored');
  }
  const picker = new Picker(stage, model, markers, devices);
  const labels = new RoomLabels(document.getElementById('room-labels'), model, stage, i18n,
    () => picker.markerRects());
  stage.beforeRender.push(() => {
    batches.sync();
    markers.beforeRender(stage.camera, () => stage.requestRender(), stage.size());
    labels.update();
  });
  const tints = new RoomTints(model, devices, i18n);
  const panel = new InfoPanel(document.getElementById('info-panel'), document.getElementById('info-body'), i18n);
  const legend = document.getElementById('legend');
  const storeySelect = document.getElementById('storey-select');
  const badge = document.getElementById('live-status');
  let live = null;
  let alarmList = null;

  const viewStoreys = model.viewStoreys(new Set(devices.guids()));
  const heatmap = new HeatmapLayer(model, stage, i18n, document.getElementById('live-status'), viewStoreys);
  heatmap.label.dataset.fold = '5'; // into the "more" menu after the roof, the pages, the user and logout
  heatmap.label.dataset.testid = 'heatmap';
  const fillStoreys = () => {
    const current = storeySelect.value || 'all';
    const options = [new Option(i18n.t('storey.all'), 'all')];
    for (const storey of [...viewStoreys].reverse()) options.push(new Option(i18n.ifcLine(storey.name, 'storey'), storey.guid));
    storeySelect.replaceChildren(...options);
    storeySelect.value = current;
  };
  const tintSelect = document.getElementById('tint-select');
  const fillTints = () => {
    tintSelect.replaceChildren(...METRICS.map((metric) => new Option(i18n.t(`tint.${metric}`), metric)));
    tintSelect.value = tints.metric;
  };
  const legendNow = () => renderLegend(legend, i18n, model, markers, tints);
  let legendQueued = false;
  const legendSoon = () => { // markers change state in bursts: one legend per frame at most
    if (legendQueued) return;
    legendQueued = true;
    requestAnimationFrame(() => { legendQueued = false; legendNow(); });
  };
  const showStatus = () => {
    const status = live ? live.status : 'connecting';
    badge.dataset.status = status;
    badge.textContent = i18n.t(`status.${status}`);
    alarmList?.update(live);
  };
  // The top bar on one row at any width: what does not fit goes into its "more" menu.
  const barFit = new BarFit(document.querySelector('header.topbar'), document.querySelector('[data-testid=bar-more]'));
  const scenarios = new ScenarioPanel(document.getElementById('scenario-panel'), i18n);
  const refreshTexts = () => {
    fillStoreys();
    fillTints();
    labels.refresh();
    legendNow();
    panel.render();
    showStatus();
    scenarios.render();
    alarmList?.refreshTexts();
    if (chooser.open) chooser.render();
  };
  i18n.onChange(refreshTexts);
  markers.onNewSymbol = legendSoon;
  const planButton = document.getElementById('plan-toggle');
  let planKey = null;
  const applyPlan = () => {
    const storey = model.storeyFilter;
    planButton.disabled = storey === 'all';
    const wanted = storey !== 'all' && planButton.getAttribute('aria-pressed') === 'true';
    const key = wanted ? storey : null;
    if (key === planKey) return; // the same plan: keep the user's pan and zoom
    planKey = key;
    stage.setPlan(wanted ? model.buildingBox() : null);
    labels.setShown(wanted);
  };
  planButton.addEventListener('click', () => {
    planButton.setAttribute('aria-pressed', String(planButton.getAttribute('aria-pressed') !== 'true'));
    applyPlan();
    afterVisibilityChange();
  });
  const afterVisibilityChange = () => {
    applyPlan();
    markers.syncVisibility();
    labels.refresh();
    legendSoon();
    if (panel.guid && !model.isVisible(panel.guid)) { panel.hide(); select(null); stage.flyHome(); } // not left staring at a hidden element
    stage.requestRender();
  };
  storeySelect.addEventListener('change', () => {
    storeyBeforeFocus = null; // the user chose: Esc leaves it
    model.setStorey(storeySelect.value);
    afterVisibilityChange();
  });
  const roofToggle = document.getElementById('roof-toggle');
  roofToggle.checked = model.showRoof;
  roofToggle.closest('label').hidden = !model.hasRoof; // a model without a roof element has nothing to show
  tintSelect.addEventListener('change', () => {
    tints.metric = tintSelect.value;
    tints.update(live);
    afterVisibilityChange();
  });
  roofToggle.addEventListener('change', () => { model.setRoof(roofToggle.checked); afterVisibilityChange(); });
  // The selected element is outlined by its bounding box, so the panel and the building point at one thing.
  const selection = new THREE.BoxHelper(undefined, SELECTION_COLOUR);
  selection.visible = false;
  stage.scene.add(selection);
  // The hint at the bottom tells what Esc does while an element is shown.
  const hint = document.getElementById('hint');
  let selected = null; // the GlobalId outlined now
  const select = (guid) => {
    selected = guid ?? null;
    const node = guid ? model.nodes.get(guid) : null;
    selection.visible = Boolean(node);
    if (node) selection.setFromObject(node);
    else if (guid && model.openingBoxes.has(guid)) { // an opening has no mesh: outline its box
      selection.box3 ??= new THREE.Box3Helper(model.openingBoxes.get(guid), SELECTION_COLOUR);
      selection.box3.box = model.openingBoxes.get(guid);
      if (!selection.box3.parent) stage.scene.add(selection.box3);
    }
    if (selection.box3) selection.box3.visible = Boolean(guid) && !node && model.openingBoxes.has(guid);
    hint.dataset.i18n = guid ? 'panel.fly_hint' : 'panel.hint';
    hint.textContent = i18n.t(hint.dataset.i18n);
    stage.requestRender();
  };
  let storeyBeforeFocus = null; // the storey filter focusElement replaced, given back on Esc
  const showStorey = (filter) => {
    storeySelect.value = filter;
    model.setStorey(filter);
    afterVisibilityChange();
  };
  const closePanel = () => {
    panel.hide();
    select(null);
    if (storeyBeforeFocus !== null) showStorey(storeyBeforeFocus);
    storeyBeforeFocus = null;
    stage.flyHome();
  };
  document.getElementById('info-close').addEventListener('click', closePanel);
  document.addEventListener('keydown', (event) => { if (event.key === 'Escape') closePanel(); });

  // Show an element, fly to it and open its panel. A device on a storey covered by the one above (the "all
  // storeys" view) is shown on its own storey: from above it would be hidden under the upper floor.
  const focusElement = (guid) => {
    const info = model.info.get(guid);
    if (!info) return false;
    if (model.showRoof) { roofToggle.checked = false; model.setRoof(false); afterVisibilityChange(); }
    const covered = model.storeyFilter === 'all' && info.storey && info.storey !== model.storeys.at(-1)?.guid;
    if (!model.isVisible(guid) || covered) {
      if (!info.storey) return false;
      storeyBeforeFocus ??= model.storeyFilter;
      showStorey(info.storey);
    }
    panel.show(guid, { model, live, devices });
    select(guid);
    stage.focus(model.boxOf(guid), (from, to) => !model.lineBlocked(from, to, guid));
    return true;
  };
  const search = new Search(document.getElementById('search-input'), document.getElementById('search-results'),
    i18n, model, devices, focusElement);
  alarmList = new AlarmList(document.getElementById('alarm-list'), i18n, model, focusElement, stage);

  // What a click (or a choice among overlapping markers) selected: its panel, its outline, a view of it.
  const openPicked = (guid) => {
    if (guid) {
      panel.show(guid, { model, live, devices });
      stage.focus(model.boxOf(guid), (from, to) => !model.lineBlocked(from, to, guid));
    } else {
      panel.hide();
    }
    select(guid);
  };
  const chooser = new MarkerChooser(document.querySelector('main'), i18n, model, markers, devices, openPicked);
  stage.controls.addEventListener('start', () => chooser.hide()); // the view moves (wheel, drag): the list no longer points at it
  const canvas = stage.renderer.domElement;
  let down = null;
  canvas.addEventListener('pointerdown', (event) => { down = { x: event.clientX, y: event.clientY }; });
  canvas.addEventListener('pointerup', (event) => {
    if (!down || Math.hypot(event.clientX - down.x, event.clientY - down.y) > CLICK_SLOP_PX) return;
    down = null;
    const click = picker.clickAt(event.clientX, event.clientY);
    if (click.choose) { chooser.show(click.choose, event.clientX, event.clientY); return; } // which one: the user says
    openPicked(click.guid);
  });

  // Live colouring: the worst state of each element's points; alarms blink.
  let blinkOn = false;
  let blinkTimer = null;
  const updateBlink = () => {
    const anyAlarm = [...model.deviceStates.values()].includes('alarm');
    if (anyAlarm && !blinkTimer) {
      blinkTimer = setInterval(() => {
        blinkOn = !blinkOn;
        model.blink(blinkOn);
        markers.blink(blinkOn);
        stage.requestRender();
      }, BLINK_MS);
    } else if (!anyAlarm && blinkTimer) {
      clearInterval(blinkTimer);
      blinkTimer = null;
    }
  };
  live = new LiveData({
    onStatus: showStatus,
    onUnauthorized: (reason) => shell.sessionLost(reason),
    devices,
    onChange: (guids) => {
      for (const guid of guids) {
        const state = live.elementState(guid);
        model.setDeviceState(guid, state);
        // A point bound to a room (not a device's element) tints the room by metric; it has no marker.
        if (devices.deviceAt(guid) && !devices.monitored(guid)) continue;
        if (devices.deviceAt(guid) || !model.info.get(guid)?.isSpace) markers.setState(guid, state);
      }
      updateBlink();
      alarmList.update(live);
      if (tints.metric !== 'zone') tints.update(live);
      legendSoon();
      if (panel.guid && guids.has(panel.guid)) panel.render();
      if (chooser.open && chooser.guids.some((guid) => guids.has(guid))) chooser.render();
      stage.requestRender();
    },
  });

  refreshTexts();
  Object.assign(hallTwin, {
    model, stage, picker, live, i18n, markers, scenarios, alarmList, barFit,
    storeys: () => model.storeys.map((s) => ({ guid: s.guid, name: s.name })),
    isVisible: (guid) => model.isVisible(guid),
    screenPointOf: (guid) => picker.screenPointOf(guid),
    pickAt: (x, y) => picker.pickAt(x, y),
    elementState: (guid) => (live ? live.elementState(guid) : 'unknown'),
    deviceColour: (guid) => model.deviceColour(guid),
    readPixels: (step = 4) => stage.readPixels(step),
    centreOf: (guid) => model.boxOf(guid)?.getCenter(new THREE.Vector3()).toArray() ?? null,
    markerShown: (guid) => markers.shown(guid, stage.camera),
    markerScreenPoint: (guid) => picker.markerPoint(guid),
    markersNear: (x, y) => picker.markersNear(x, y),
    chooser,
    selected: () => selected,
    devices, tints, search, labels, batches,
    viewStoreys: () => viewStoreys.map((s) => ({ guid: s.guid, name: s.name })),
    // Rooms a user can select on a storey: its spaces that are drawn (not a roof space).
    roomsOf: (storey) => [...model.info.values()]
      .filter((info) => info.isSpace && info.storey === storey && model.isVisible(info.guid)).map((info) => info.guid),
    sampleGrid: (step) => Object.fromEntries(picker.sampleGrid(step)),
    // Open the panel of an element as a click would, and give its title (tests of every device at once).
    openPanel: (guid) => {
      panel.show(guid, { model, live, devices });
      return document.querySelector('[data-testid=info-name]')?.textContent ?? null;
    },
    showStorey: (filter, plan = false) => {
      planButton.setAttribute('aria-pressed', String(plan));
      showStorey(filter);
      stage.renderNow();
    },
    // The bench's baseline: the same scene without the section, plan, spreading and BVH features.
    setSectionFeatures: (on) => {
      model.sectionEnabled = on;
      markers.spread = on;
      prepareBvh(model.root, on);
      model.applyVisibility();
      afterVisibilityChange();
    },
    coloursAround: (x, y, radius = 3) => stage.coloursAround(x, y, radius),
    markerColour: (guid) => {
      const sprite = markers.sprites.get(guid);
      return sprite ? `#${sprite.material.color.getHexString()}` : null;
    },
    focusElement,
    heatmap,
    alarms: () => [...alarmList.guids],
    cameraTarget: () => stage.controls.target.toArray(),
  });

  overlay.hidden = true;
  stage.renderNow();
  setState('ready');
  live.start();
  // The scenario API exists only under `halltwin demo` (/api/health says so): a real site is never asked.
  hallTwin.scenarioApi = shell.health?.demo ? await scenarios.start() : false;
}

async function fetchZones() {
  const response = await fetch('/api/zones');
  if (response.status === 404) return [];
  if (!response.ok) throw new ModelLoadError(`/api/zones: HTTP ${response.status}`);
  return (await response.json()).zones ?? [];
}

startPage('twin', ['alarms'], main, { state: hallTwin });
