// The route in the 3D hall: a tube along the polyline of /api/route lifted above each floor, a pin where the
// visitor stands ("you are here") and one at the destination, and a marker that walks the route. The model shows
// the storey the marker is on, so a route across storeys switches floors as the marker takes the stairs or lift.
// Frames are drawn at a modest rate while the marker moves: a kiosk may render in software.
import * as THREE from 'three';

const LIFT_M = 0.35; // above the floor: over the rooms' tinted floors, under most furniture tops
const TUBE_RADIUS = 0.3;
const PIN_HEIGHT_M = 2.4;
const FRAME_MS = 100; // 10 frames a second while the marker walks: smooth enough, light on a software renderer
const PAUSE_AT_END_MS = 2500;
const VISUAL_SPEED_M_S = 10; // the marker walks faster than a person: the whole route in a few seconds
const MIN_PLAY_MS = 5000;
const MAX_PLAY_MS = 15000;
export const ROUTE_COLOURS = { walk: 0x1e6fd9, accessible: 0x0b8a4c, evacuation: 0xd92d20 };
const HERE_COLOUR = 0xf28c28;

// A text label that keeps its size on screen (a sprite drawn on a canvas).
function labelSprite(text, background) {
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d');
  const font = '600 44px "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "Noto Sans", sans-serif';
  context.font = font;
  const width = Math.ceil(context.measureText(text).width) + 48;
  canvas.width = width;
  canvas.height = 72;
  context.font = font;
  context.fillStyle = `#${background.toString(16).padStart(6, '0')}`;
  context.beginPath();
  context.roundRect(0, 0, width, 72, 18);
  context.fill();
  context.fillStyle = '#ffffff';
  context.textBaseline = 'middle';
  context.fillText(text, 24, 38);
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  const material = new THREE.SpriteMaterial({ map: texture, depthTest: false, sizeAttenuation: false });
  const sprite = new THREE.Sprite(material);
  const height = 0.045; // of the view's height
  sprite.scale.set(height * (width / 72), height, 1);
  sprite.center.set(0.5, 0);
  sprite.renderOrder = 40;
  return sprite;
}

function pin(colour, text) {
  const group = new THREE.Group();
  const material = new THREE.MeshBasicMaterial({ color: colour, depthTest: false, transparent: true });
  const head = new THREE.Mesh(new THREE.SphereGeometry(0.45, 20, 12), material);
  head.position.y = PIN_HEIGHT_M;
  const stem = new THREE.Mesh(new THREE.ConeGeometry(0.32, PIN_HEIGHT_M - 0.2, 16), material);
  stem.rotation.x = Math.PI; // point down onto the floor
  stem.position.y = (PIN_HEIGHT_M - 0.2) / 2;
  const ring = new THREE.Mesh(new THREE.RingGeometry(0.55, 0.85, 32), material);
  ring.rotation.x = -Math.PI / 2;
  ring.position.y = 0.05;
  group.add(head, stem, ring);
  for (const part of [head, stem, ring]) part.renderOrder = 35;
  if (text) {
    const label = labelSprite(text, colour);
    label.position.y = PIN_HEIGHT_M + 0.6;
    group.add(label);
  }
  return group;
}

function dispose(object) {
  object.traverse((child) => {
    child.geometry?.dispose();
    for (const material of [child.material].flat()) {
      material?.map?.dispose();
      material?.dispose();
    }
  });
}

export class RouteView {
  // model: HallModel; stage: Stage
  constructor(model, stage) {
    this.model = model;
    this.stage = stage;
    this.group = new THREE.Group();
    this.group.name = 'visitor-route';
    stage.scene.add(this.group);
    this.here = null; // {pin, storey}
    this.route = null;
    this.legs = []; // {storey, meshes: [Mesh]}
    this.goal = null; // {pin, storey}
    this.marker = null;
    this.timer = null;
    this.shownStorey = 'all';
    this.visited = new Set(); // storeys shown while the marker walked (tests read it)
    this.progress = 0; // 0..1 along the route
    this.follow = true; // the model follows the marker's storey (a tap on a floor stops that)
    this.onStorey = () => {};
    this.onProgress = () => {};
  }

  scenePoint([x, y, z], lift = LIFT_M) { return this.model.toGltf([x, y, z + lift]); }

  // The kiosk's own place: a pin that stays while visitors come and go.
  setHere(xyz, storey, text) {
    if (this.here) { this.group.remove(this.here.pin); dispose(this.here.pin); }
    this.here = null;
    if (!xyz) return;
    const marker = pin(HERE_COLOUR, text);
    marker.position.copy(this.scenePoint(xyz, 0.05));
    marker.name = 'you-are-here';
    this.group.add(marker);
    this.here = { pin: marker, storey };
    this.applyVisibility();
    this.stage.requestRender();
  }

  clear() {
    this.stop();
    for (const leg of this.legs) for (const mesh of leg.meshes) { this.group.remove(mesh); dispose(mesh); }
    this.legs = [];
    for (const item of [this.goal?.pin, this.marker]) if (item) { this.group.remove(item); dispose(item); }
    this.goal = null;
    this.marker = null;
    this.route = null;
    this.visited = new Set();
    this.progress = 0;
    this.stage.requestRender();
  }

  // Draw ``route`` (an ok /api/route answer) in the colour of ``mode`` with ``goalText`` on the destination pin,
  // and start the marker.
  show(route, mode, goalText) {
    this.clear();
    this.route = route;
    const colour = ROUTE_COLOURS[mode] ?? ROUTE_COLOURS.walk;
    this.goalColour = colour;
    const solid = new THREE.MeshBasicMaterial({ color: colour });
    const ghost = new THREE.MeshBasicMaterial({ color: colour, transparent: true, opacity: 0.35, depthTest: false });
    const legs = route.legs ?? [];
    legs.forEach((leg, i) => {
      // Each run joins the next one's first point, so the climb between two floors is drawn too.
      const points = [...leg.points, ...(legs[i + 1] ? [legs[i + 1].points[0]] : [])].map((p) => this.scenePoint(p));
      if (points.length < 2) points.push(points[0].clone().add(new THREE.Vector3(0, 0.01, 0)));
      const path = new THREE.CurvePath();
      for (let k = 1; k < points.length; k += 1) path.add(new THREE.LineCurve3(points[k - 1], points[k]));
      const geometry = new THREE.TubeGeometry(path, Math.max(16, points.length * 8), TUBE_RADIUS, 8, false);
      const tube = new THREE.Mesh(geometry, solid);
      tube.renderOrder = 30;
      const behind = new THREE.Mesh(geometry, ghost); // seen through walls and floors, faintly
      behind.renderOrder = 31;
      for (const mesh of [tube, behind]) { mesh.raycast = () => {}; this.group.add(mesh); }
      this.legs.push({ storey: leg.storey, meshes: [tube, behind] });
    });
    // Distances along the polyline, for the marker and for the steps.
    this.points = (route.points ?? []).map((p) => this.scenePoint(p));
    this.storeyAt = legs.flatMap((leg) => leg.points.map(() => leg.storey));
    this.along = [0];
    for (let i = 1; i < this.points.length; i += 1) {
      this.along.push(this.along[i - 1] + this.points[i].distanceTo(this.points[i - 1]));
    }
    const end = route.points?.at(-1);
    if (end) {
      const goalPin = pin(colour, goalText);
      goalPin.position.copy(this.scenePoint(end, 0.05));
      goalPin.name = 'route-goal';
      this.group.add(goalPin);
      this.goal = { pin: goalPin, storey: legs.at(-1)?.storey ?? null };
    }
    this.marker = new THREE.Mesh(new THREE.SphereGeometry(0.85, 24, 16),
      new THREE.MeshBasicMaterial({ color: 0xffffff, depthTest: false }));
    const core = new THREE.Mesh(new THREE.SphereGeometry(0.6, 24, 16),
      new THREE.MeshBasicMaterial({ color: colour, depthTest: false }));
    this.marker.add(core);
    this.marker.renderOrder = 45;
    core.renderOrder = 46;
    this.marker.name = 'route-marker';
    this.group.add(this.marker);
    this.follow = true;
    this.play();
  }

  // A new text on the destination pin (the language changed).
  relabel(text) {
    const group = this.goal?.pin;
    const old = group?.children.find((child) => child.isSprite);
    if (!old) return;
    const label = labelSprite(text, this.goalColour);
    label.position.copy(old.position);
    group.remove(old);
    dispose(old);
    group.add(label);
    this.stage.requestRender();
  }

  get length() { return this.along?.at(-1) ?? 0; }

  storeys() { return [...new Set(this.legs.map((leg) => leg.storey))]; }

  // Where the marker is at ``fraction`` of the route: its scene position and storey.
  at(fraction) {
    const wanted = fraction * this.length;
    let i = 1;
    while (i < this.along.length - 1 && this.along[i] < wanted) i += 1;
    const span = this.along[i] - this.along[i - 1] || 1;
    const f = Math.min(1, Math.max(0, (wanted - this.along[i - 1]) / span));
    const position = this.points[i - 1].clone().lerp(this.points[i], f);
    return { position, storey: this.storeyAt[f < 0.5 ? i - 1 : i] };
  }

  play(from = 0) {
    this.stop();
    if (!this.route || this.points.length < 2) return;
    const ms = Math.min(MAX_PLAY_MS, Math.max(MIN_PLAY_MS, (this.length / VISUAL_SPEED_M_S) * 1000));
    const start = performance.now() - from * ms;
    const tick = () => {
      const elapsed = performance.now() - start;
      const fraction = Math.min(1, elapsed / ms);
      this.place(fraction);
      if (elapsed >= ms + PAUSE_AT_END_MS) { this.play(0); return; }
      this.timer = setTimeout(tick, FRAME_MS);
    };
    tick();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  get playing() { return this.timer !== null; }

  place(fraction) {
    this.progress = fraction;
    const { position, storey } = this.at(fraction);
    this.marker.position.copy(position);
    if (this.follow && storey && storey !== this.shownStorey) this.showStorey(storey);
    this.onProgress(fraction * this.length);
    this.stage.requestRender();
  }

  // Show one storey ('all': the whole building) with its part of the route framed.
  showStorey(storey, fly = true) {
    this.shownStorey = storey;
    if (storey !== 'all') this.visited.add(storey);
    this.model.setStorey(storey);
    this.applyVisibility();
    if (fly) this.frame(storey);
    this.onStorey(storey);
    this.stage.requestRender();
  }

  applyVisibility() {
    const shown = this.shownStorey;
    const on = (storey) => shown === 'all' || storey === shown;
    for (const leg of this.legs) for (const mesh of leg.meshes) mesh.visible = on(leg.storey);
    if (this.goal) this.goal.pin.visible = on(this.goal.storey);
    if (this.here) this.here.pin.visible = on(this.here.storey);
    if (this.marker) this.marker.visible = true;
  }

  // The camera on the route's part on ``storey`` with the pins there (the whole building for 'all').
  frame(storey) {
    if (storey === 'all' || !this.route) { this.stage.flyHome(); return; }
    const box = new THREE.Box3();
    this.points.forEach((point, i) => { if (this.storeyAt[i] === storey) box.expandByPoint(point); });
    for (const item of [this.goal, this.here]) {
      if (item && item.storey === storey) box.expandByPoint(item.pin.position);
    }
    if (box.isEmpty()) { this.stage.flyHome(); return; }
    box.expandByScalar(3);
    this.stage.focus(box);
  }
}
