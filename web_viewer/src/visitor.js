// The visitor page (public, no login): the hall's name, its 3D model and the zones of the hall by floor, with what
// each zone is for. A tap on a zone shows where it is. Only public routes are used: /api/health, /api/model,
// /api/model/elements and /api/zones (never /api/points). Made for a portrait kiosk and a phone.
// window.hallVisitor exposes {state, error, zones(), select(id), selected, floor} for tests.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { el } from './dom.js';
import { I18n } from './i18n.js';
import { HallModel } from './model.js';
import { ZONE_COLOURS, hex } from './palette.js';
import { Stage } from './scene.js';
import { fetchHealth } from './shell.js';

// Zones a visitor comes for, in the order of a visit (DB31/T 862 4.3); the rest are listed folded away.
const VISITOR_TYPES = [
  'guidance', 'window_service', 'waiting', 'convenience', 'self_service', 'self_service_24h', 'toilet', 'mother_baby',
];
const STAFF_ONLY = new Set(['office', 'power_room', 'server_room', 'weak_current']);
const UNPLACED = 'unplaced';
const OUTLINE = 0x1d2733;
// A kiosk left alone goes back to the whole hall, so the next visitor does not start where the last one stopped.
const IDLE_RESET_MS = 90_000;

const hallVisitor = { state: 'loading', error: null, selected: null, floor: 'all' };
window.hallVisitor = hallVisitor;

function setState(state, error = null) {
  hallVisitor.state = state;
  hallVisitor.error = error;
  document.body.dataset.state = state;
}

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

async function loadModel() {
  const metadata = await fetchJson('/api/model/elements'); // starts the conversion on a fresh server
  const response = await fetch('/api/model');
  if (!response.ok) throw new Error(`/api/model: HTTP ${response.status}`);
  const gltf = await new GLTFLoader().parseAsync(await response.arrayBuffer(), '');
  return { metadata, gltf };
}

async function main() {
  const i18n = new I18n();
  await i18n.load(I18n.savedLanguage());
  const langButton = document.getElementById('lang-toggle');
  langButton.addEventListener('click', () => i18n.load(i18n.next()));
  const [health, zoneList] = await Promise.all([fetchHealth(), fetchJson('/api/zones')]);
  const zones = zoneList.zones ?? [];
  const overlay = document.getElementById('overlay');
  const overlayText = document.getElementById('overlay-text');
  const wholeHall = document.getElementById('whole-hall');
  const caption = document.getElementById('stage-caption');
  const floorsNav = document.getElementById('floors');
  const zonesBox = document.getElementById('zones');

  // The building; without it the zone list still helps, so a failure only replaces the picture.
  let model = null;
  let stage = null;
  let outline = null;
  try {
    stage = new Stage(document.getElementById('stage'));
    const { metadata, gltf } = await loadModel();
    model = new HallModel(gltf.scene, metadata, zones);
    stage.scene.add(gltf.scene);
    stage.frame(model.buildingBox());
    outline = new THREE.BoxHelper(undefined, 0x1565c0);
    outline.visible = false;
    stage.scene.add(outline);
    overlay.hidden = true;
  } catch (error) {
    console.error(error);
    overlayText.removeAttribute('data-i18n');
    overlayText.replaceChildren(i18n.t('visitor.error'));
    overlay.classList.add('error');
    hallVisitor.error = String(error.message ?? error);
  }

  const floors = model ? model.storeys : [];
  const floorOf = (zone) => model?.info.get(zone.ifc_guid)?.storey ?? UNPLACED;
  const floorName = (guid) => i18n.local(model?.storeyByGuid.get(guid)?.name ?? '') || guid;

  const select = (zoneId) => {
    const zone = zones.find((z) => z.id === zoneId) ?? null;
    hallVisitor.selected = zone ? zone.id : null;
    for (const card of zonesBox.querySelectorAll('[data-zone]')) {
      card.setAttribute('aria-pressed', String(card.dataset.zone === hallVisitor.selected));
    }
    showCaption();
    if (!model) return Boolean(zone);
    wholeHall.hidden = !zone;
    const node = zone ? model.nodes.get(zone.ifc_guid) : null;
    if (!zone || !node) {
      outline.visible = false;
      model.setStorey(hallVisitor.floor === 'all' ? 'all' : hallVisitor.floor);
      stage.flyHome();
      return Boolean(zone);
    }
    // Its own floor alone: from above, the floor over it would hide the room.
    const storey = floorOf(zone);
    if (storey !== UNPLACED) model.setStorey(storey);
    outline.setFromObject(node);
    outline.material.color.setHex(OUTLINE); // dark: it must stand out on every zone colour
    outline.visible = true;
    stage.focus(model.boxOf(zone.ifc_guid));
    stage.requestRender();
    return true;
  };
  // What the model shows now: the chosen zone and its floor (the list may show every floor).
  const showCaption = () => {
    const zone = zones.find((z) => z.id === hallVisitor.selected);
    caption.hidden = !zone;
    if (!zone) return;
    const floor = floorOf(zone);
    caption.replaceChildren(i18n.name(zone.name));
    if (floor !== UNPLACED) caption.append(el('small', {}, floorName(floor)));
  };
  const showFloor = (floor) => {
    hallVisitor.floor = floor;
    hallVisitor.selected = null;
    showCaption();
    if (model) {
      outline.visible = false;
      wholeHall.hidden = true;
      model.setStorey(floor);
      stage.flyHome();
    }
    render();
  };
  wholeHall.addEventListener('click', () => { select(null); });

  const zoneCard = (zone) => {
    const t = (key) => i18n.t(key);
    const type = zone.zone_type;
    const label = i18n.has(`zone_type.${type}`) ? t(`zone_type.${type}`) : type;
    const button = el('button', {
      type: 'button', class: `zone${STAFF_ONLY.has(type) ? ' staff' : ''}`, 'data-zone': zone.id, 'data-type': type,
      'aria-pressed': String(zone.id === hallVisitor.selected),
    },
    el('span', { class: 'swatch', style: `background:${hex(ZONE_COLOURS[type] ?? ZONE_COLOURS.other)}` }),
    el('span', { class: 'zone-name' }, i18n.name(zone.name)),
    el('span', { class: 'zone-type' }, label),
    // What the zone is for, unless its type already says it (a toilet is a toilet).
    el('span', { class: 'zone-desc' }, describe(type, label)));
    if (STAFF_ONLY.has(type)) button.append(el('span', { class: 'tag' }, t('visitor.staff_only')));
    button.addEventListener('click', () => select(zone.id));
    return button;
  };
  // Types whose name says it all (toilet, mother-and-baby room) have no description.
  const describe = (type, label) => {
    const text = i18n.has(`visitor.desc.${type}`) ? i18n.t(`visitor.desc.${type}`) : '';
    return text === label ? '' : text;
  };
  const byVisit = (a, b) => VISITOR_TYPES.indexOf(a.zone_type) - VISITOR_TYPES.indexOf(b.zone_type)
    || i18n.name(a.name).localeCompare(i18n.name(b.name));

  const render = () => {
    const t = (key) => i18n.t(key);
    const hall = health?.name ? i18n.name(health.name) : t('app.title');
    document.querySelector('.hall-name').textContent = hall;
    document.title = `${hall} · ${t('visitor.page_title')}`;
    langButton.textContent = t('lang.switch');
    const chips = [['all', t('visitor.all_floors')], ...floors.map((f) => [f.guid, floorName(f.guid)])];
    floorsNav.setAttribute('aria-label', t('visitor.floors'));
    floorsNav.hidden = floors.length < 2;
    floorsNav.replaceChildren(...chips.map(([id, name]) => {
      const chip = el('button', { type: 'button', 'data-floor': id, 'aria-pressed': String(id === hallVisitor.floor) }, name);
      chip.addEventListener('click', () => showFloor(id));
      return chip;
    }));
    const groups = hallVisitor.floor === 'all'
      ? [...floors.map((f) => f.guid), UNPLACED] : [hallVisitor.floor];
    const sections = [];
    for (const group of groups) {
      const inGroup = zones.filter((zone) => floorOf(zone) === group);
      if (!inGroup.length) continue;
      const forVisitors = inGroup.filter((zone) => VISITOR_TYPES.includes(zone.zone_type)).sort(byVisit);
      const others = inGroup.filter((zone) => !VISITOR_TYPES.includes(zone.zone_type)).sort(byVisit);
      const heading = group === UNPLACED ? (floors.length ? t('visitor.zones') : hall) : floorName(group);
      const section = el('section', { class: 'floor-group', 'data-group': group },
        el('h2', {}, heading, el('small', {}, t('visitor.zone_count').replace('{n}', inGroup.length))));
      if (forVisitors.length) section.append(el('div', { class: 'zone-grid' }, ...forVisitors.map(zoneCard)));
      if (others.length) {
        const details = el('details', { class: 'others' },
          el('summary', {}, `${t('visitor.other_zones')} (${others.length})`),
          el('div', { class: 'zone-grid' }, ...others.map(zoneCard)));
        section.append(details);
      }
      sections.push(section);
    }
    if (!sections.length) sections.push(el('p', { class: 'empty' }, t('visitor.no_zones')));
    zonesBox.replaceChildren(...sections);
    showCaption();
  };
  i18n.onChange(render);
  render();
  let idle = null;
  const touched = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      if (hallVisitor.selected !== null || hallVisitor.floor !== 'all') showFloor('all');
      zonesBox.scrollTop = 0;
    }, IDLE_RESET_MS);
  };
  for (const type of ['pointerdown', 'keydown', 'wheel']) window.addEventListener(type, touched, { passive: true });
  touched();

  Object.assign(hallVisitor, {
    model, stage, i18n,
    zones: () => [...zonesBox.querySelectorAll('[data-zone]')].map((card) => card.dataset.zone),
    select,
    showFloor,
    readPixels: (step = 4) => stage.readPixels(step),
  });
  if (model) stage.renderNow();
  setState(model ? 'ready' : 'error', hallVisitor.error);
}

main().catch((error) => {
  console.error(error);
  setState('error', String(error.message ?? error));
});
