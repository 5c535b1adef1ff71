// The 3D hall viewer: loads the building and its metadata, wires storeys, picking, legend, live colouring,
// the alarm list and (in the demo) the scenario panel.
// window.hallTwin exposes the state and a few read-only helpers for tests and kiosk tours.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { AlarmList } from './alarms.js';
import { I18n } from './i18n.js';
import { renderLegend } from './legend.js';
import { LiveData } from './live.js';
import { DeviceMarkers } from './markers.js';
import { HallModel } from './model.js';
import { InfoPanel } from './panel.js';
import { Picker } from './picking.js';
import { ScenarioPanel } from './scenarios.js';
import { Stage } from './scene.js';
import { Shell } from './shell.js';

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

function setState(state, error = null) {
  hallTwin.state = state;
  hallTwin.ready = state === 'ready';
  hallTwin.error = error;
  document.body.dataset.state = state;
}

async function main() {
  const i18n = new I18n();
  await i18n.load(I18n.savedLanguage());
  // The shared header first: without a session the page goes to /login before loading the building.
  const shell = new Shell(document.querySelector('header.shell'), i18n, 'twin');
  if (!(await shell.start())) return;
  document.getElementById('live-status').textContent = i18n.t('status.connecting'); // until the model is in
  const overlay = document.getElementById('overlay');
  const overlayText = document.getElementById('overlay-text');
  const stage = new Stage(document.getElementById('stage'));
  const slowHint = setTimeout(() => { overlayText.dataset.i18n = 'model.converting'; i18n.apply(overlay); }, CONVERTING_HINT_MS);

  let metadata; let zones; let gltf;
  try {
    // The elements request starts the conversion on a fresh server; the GLB then comes from the same result.
    [metadata, zones] = await Promise.all([fetchOrExplain('/api/model/elements', 'json'), fetchZones()]);
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
  stage.scene.add(gltf.scene);
  stage.frame(model.buildingBox());
  const markers = new DeviceMarkers(model, stage.scene);
  stage.beforeRender.push(() => markers.beforeRender(stage.camera, () => stage.requestRender()));
  const picker = new Picker(stage, model, markers);
  const panel = new InfoPanel(document.getElementById('info-panel'), document.getElementById('info-body'), i18n);
  const legend = document.getElementById('legend');
  const storeySelect = document.getElementById('storey-select');
  const badge = document.getElementById('live-status');
  const langButton = document.getElementById('lang-toggle');
  let live = null;
  let alarmList = null;

  const fillStoreys = () => {
    const current = storeySelect.value || 'all';
    const options = [new Option(i18n.t('storey.all'), 'all')];
    for (const storey of [...model.storeys].reverse()) options.push(new Option(storey.name, storey.guid));
    storeySelect.replaceChildren(...options);
    storeySelect.value = current;
  };
  const showStatus = () => {
    const status = live ? live.status : 'connecting';
    badge.dataset.status = status;
    badge.textContent = i18n.t(`status.${status}`);
    alarmList?.update(live);
  };
  const scenarios = new ScenarioPanel(document.getElementById('scenario-panel'), i18n);
  const refreshTexts = () => {
    fillStoreys();
    renderLegend(legend, i18n, model, markers.symbols());
    panel.render();
    showStatus();
    langButton.textContent = i18n.t('lang.switch');
    scenarios.render();
    alarmList?.refreshTexts();
  };
  i18n.onChange(refreshTexts);
  markers.onNewSymbol = () => renderLegend(legend, i18n, model, markers.symbols());
  langButton.addEventListener('click', () => i18n.load(i18n.next()));
  const afterVisibilityChange = () => {
    markers.syncVisibility();
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
  roofToggle.addEventListener('change', () => { model.setRoof(roofToggle.checked); afterVisibilityChange(); });
  // The selected element is outlined by its bounding box, so the panel and the building point at one thing.
  const selection = new THREE.BoxHelper(undefined, SELECTION_COLOUR);
  selection.visible = false;
  stage.scene.add(selection);
  // The hint at the bottom tells what Esc does while an element is shown.
  const hint = document.getElementById('hint');
  const select = (guid) => {
    const node = guid ? model.nodes.get(guid) : null;
    selection.visible = Boolean(node);
    if (node) selection.setFromObject(node);
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
    panel.show(guid, { model, live });
    select(guid);
    stage.focus(model.boxOf(guid), (from, to) => !model.lineBlocked(from, to, guid));
    return true;
  };
  alarmList = new AlarmList(document.getElementById('alarm-list'), i18n, model, focusElement);

  const canvas = stage.renderer.domElement;
  let down = null;
  canvas.addEventListener('pointerdown', (event) => { down = { x: event.clientX, y: event.clientY }; });
  canvas.addEventListener('pointerup', (event) => {
    if (!down || Math.hypot(event.clientX - down.x, event.clientY - down.y) > CLICK_SLOP_PX) return;
    down = null;
    const guid = picker.pickAt(event.clientX, event.clientY);
    if (guid) {
      panel.show(guid, { model, live });
      stage.focus(model.boxOf(guid), (from, to) => !model.lineBlocked(from, to, guid));
    } else {
      panel.hide();
    }
    select(guid);
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
    onChange: (guids) => {
      for (const guid of guids) {
        const state = live.elementState(guid);
        model.setDeviceState(guid, state);
        markers.setState(guid, state);
      }
      updateBlink();
      alarmList.update(live);
      if (panel.guid && guids.has(panel.guid)) panel.render();
      stage.requestRender();
    },
  });

  refreshTexts();
  Object.assign(hallTwin, {
    model, stage, picker, live, i18n, markers, scenarios, alarmList,
    storeys: () => model.storeys.map((s) => ({ guid: s.guid, name: s.name })),
    isVisible: (guid) => model.isVisible(guid),
    screenPointOf: (guid) => picker.screenPointOf(guid),
    pickAt: (x, y) => picker.pickAt(x, y),
    elementState: (guid) => (live ? live.elementState(guid) : 'unknown'),
    deviceColour: (guid) => model.deviceColour(guid),
    readPixels: (step = 4) => stage.readPixels(step),
    centreOf: (guid) => model.boxOf(guid)?.getCenter(new THREE.Vector3()).toArray() ?? null,
    markerShown: (guid) => markers.shown(guid, stage.camera),
    markerScreenPoint: (guid) => {
      const sprite = markers.sprites.get(guid);
      return sprite ? stage.toScreen(sprite.position) : null;
    },
    coloursAround: (x, y, radius = 3) => stage.coloursAround(x, y, radius),
    markerColour: (guid) => {
      const sprite = markers.sprites.get(guid);
      return sprite ? `#${sprite.material.color.getHexString()}` : null;
    },
    focusElement,
    alarms: () => [...alarmList.guids],
    cameraTarget: () => stage.controls.target.toArray(),
  });

  overlay.hidden = true;
  stage.renderNow();
  setState('ready');
  live.start();
  hallTwin.scenarioApi = await scenarios.start(); // false: not the demo, the panel stays hidden
}

async function fetchZones() {
  const response = await fetch('/api/zones');
  if (response.status === 404) return [];
  if (!response.ok) throw new ModelLoadError(`/api/zones: HTTP ${response.status}`);
  return (await response.json()).zones ?? [];
}

main().catch((error) => {
  console.error(error);
  setState('error', String(error.message ?? error));
});
