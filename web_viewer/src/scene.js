// The three.js stage: renderer, camera, orbit controls, lights; frames are rendered on demand, not in a loop,
// because software WebGL (kiosks, CI) cannot afford 60 frames a second of a static building.
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { BACKGROUND } from './palette.js';

const FLY_MS = 900;
const FOCUS_MIN_DISTANCE = 10; // metres: a small sensor is shown with the room around it
const FOCUS_MIN_SPAN = 6; // metres: the smallest box a focused view frames (a sensor with its room)
const FOCUS_MARGIN = 1.6; // the focused box fills about 60 % of the view
const FOCUS_MIN_ELEVATION = 0.6; // radians: the lowest angle we look down at a focused element from
// Turns around the element (degrees from the current side) tried in order until a view of it is clear.
const FOCUS_TURNS = [0, 30, -30, 60, -60, 90, -90, 135, -135, 180].map((deg) => THREE.MathUtils.degToRad(deg));

export class Stage {
  constructor(container) {
    this.container = container;
    this.renderer = new THREE.WebGLRenderer({ antialias: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.renderer.outputColorSpace = THREE.SRGBColorSpace;
    container.appendChild(this.renderer.domElement);

    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(BACKGROUND);
    this.perspective = new THREE.PerspectiveCamera(45, 1, 0.1, 5000);
    this.perspective.position.set(20, 15, 20);
    this.ortho = new THREE.OrthographicCamera(-10, 10, 10, -10, 0.1, 5000); // the storey plan, seen from above
    this.camera = this.perspective;
    this.leftInset = 0; // CSS pixels of the dock over the canvas' left side: the building is centred beside it
    this.renderer.localClippingEnabled = true; // the storey section (HallModel.clipPlanes)

    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = true;
    this.controls.dampingFactor = 0.12;
    this.controls.maxPolarAngle = Math.PI * 0.495; // never look from below the ground
    this.controls.addEventListener('change', () => this.requestRender());
    this.controls.addEventListener('start', () => this.endFlight()); // a user who grabs the view takes over
    this.flight = null;
    this.home = null;
    this.reducedMotion = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;

    this.addLights();
    this.frameQueued = false;
    this.frames = 0;
    this.beforeRender = [];
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
  }

  addLights() {
    // Sky/ground fill plus one sun from the south-east: walls read as volumes without any shadow maps.
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0xb8b2a6, 1.6));
    this.sun = new THREE.DirectionalLight(0xffffff, 1.6);
    this.sun.position.set(0.6, 1, 0.45);
    this.scene.add(this.sun);
    const back = new THREE.DirectionalLight(0xdde6ff, 0.5);
    back.position.set(-0.7, 0.4, -0.6);
    this.scene.add(back);
  }

  resize() {
    const width = Math.max(1, this.container.clientWidth);
    const height = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(width, height, false);
    this.perspective.aspect = width / height;
    this.applyOffset(this.perspective);
    if (this.planBox) this.fitPlan(this.planBox);
    this.requestRender();
  }

  size() {
    return { width: Math.max(1, this.container.clientWidth), height: Math.max(1, this.container.clientHeight) };
  }

  // Shift the view right by half the dock, so that the middle of the free area is the middle of the view.
  applyOffset(camera) {
    const { width, height } = this.size();
    if (this.leftInset > 0 && this.leftInset < width / 2) camera.setViewOffset(width, height, -this.leftInset / 2, 0, width, height);
    else camera.clearViewOffset();
    camera.updateProjectionMatrix();
  }

  setLeftInset(pixels) {
    if (pixels === this.leftInset) return;
    this.leftInset = pixels;
    this.resize();
  }

  get planView() { return this.camera === this.ortho; }

  // The storey plan: an orthographic camera straight down on ``box`` (null: back to the 3D view).
  setPlan(box) {
    this.endFlight();
    if (!box) {
      this.planBox = null;
      if (this.camera === this.perspective) return;
      this.camera = this.perspective;
      this.controls.object = this.perspective;
      this.controls.enableRotate = true;
      this.controls.target.copy(this.saved3d?.target ?? this.controls.target);
      if (this.saved3d) this.perspective.position.copy(this.saved3d.position);
      this.controls.update();
      this.requestRender();
      return;
    }
    if (this.camera === this.perspective) this.saved3d = { position: this.perspective.position.clone(), target: this.controls.target.clone() };
    this.planBox = box.clone();
    this.camera = this.ortho;
    this.controls.object = this.ortho;
    this.controls.enableRotate = false; // a plan is read north up; pan and zoom only
    this.fitPlan(box);
  }

  fitPlan(box) {
    const { width, height } = this.size();
    const free = Math.max(1, width - this.leftInset);
    const centre = box.getCenter(new THREE.Vector3());
    const size = box.getSize(new THREE.Vector3());
    const half = Math.max(size.z / 2, (size.x / 2) * (height / free), 2) * 1.08;
    const aspect = width / height;
    Object.assign(this.ortho, { left: -half * aspect, right: half * aspect, top: half, bottom: -half, zoom: 1 });
    this.ortho.near = 0.1;
    this.ortho.far = size.y + 1000;
    this.ortho.position.set(centre.x, box.max.y + 500, centre.z + 1e-3);
    this.controls.target.set(centre.x, centre.y, centre.z);
    this.ortho.lookAt(this.controls.target);
    this.applyOffset(this.ortho);
    this.controls.update();
    this.planHome = { position: this.ortho.position.clone(), target: this.controls.target.clone() };
    this.requestRender();
  }

  requestRender() {
    if (this.frameQueued) return;
    this.frameQueued = true;
    requestAnimationFrame(() => {
      this.frameQueued = false;
      const flying = this.stepFlight();
      // Damping keeps moving after the pointer stops: keep drawing until it settles.
      if (this.controls.update() || flying) this.requestRender();
      this.renderNow();
    });
  }

  renderNow() {
    for (const hook of this.beforeRender) hook();
    this.frameStart = performance.now();
    this.renderer.render(this.scene, this.camera);
    this.frames += 1;
  }

  // Look at the box from the south-east, high enough to see into rooms, as close as keeps all of it in view.
  frame(box) {
    const sphere = box.getBoundingSphere(new THREE.Sphere());
    const radius = Math.max(sphere.radius, 1);
    const direction = new THREE.Vector3(0.75, 0.85, 1).normalize();
    const corners = [];
    for (const x of [box.min.x, box.max.x]) {
      for (const y of [box.min.y, box.max.y]) {
        for (const z of [box.min.z, box.max.z]) corners.push(new THREE.Vector3(x, y, z));
      }
    }
    // Start from the bounding sphere (always fits) and move in until the box's corners fill ~85% of the view:
    // a flat hall would otherwise be a small slab in the middle of the screen.
    const { width } = this.size();
    const centreX = this.leftInset > 0 && this.leftInset < width / 2 ? this.leftInset / width : 0;
    const freeX = 1 - centreX;
    this.setPlan(null);
    let distance = radius / Math.sin(THREE.MathUtils.degToRad(this.camera.fov) / 2);
    this.controls.target.copy(sphere.center);
    for (let i = 0; i < 6; i += 1) {
      this.camera.position.copy(sphere.center).addScaledVector(direction, distance);
      this.camera.near = Math.max(0.05, distance / 500);
      this.camera.far = distance * 20;
      this.camera.lookAt(sphere.center);
      this.camera.updateProjectionMatrix();
      this.camera.updateMatrixWorld();
      const extent = Math.max(...corners.map((c) => {
        const ndc = c.clone().project(this.camera);
        return Math.max(Math.abs(ndc.x - centreX) / freeX, Math.abs(ndc.y));
      }));
      distance *= THREE.MathUtils.clamp(extent / 0.85, 0.5, 1.5);
    }
    this.camera.position.copy(sphere.center).addScaledVector(direction, distance);
    this.home = { position: this.camera.position.clone(), target: sphere.center.clone() };
    this.controls.maxDistance = distance * 6;
    this.controls.update();
    this.sun.position.copy(sphere.center).add(new THREE.Vector3(0.6, 1, 0.45).multiplyScalar(radius * 2));
    this.sun.target.position.copy(sphere.center);
    this.sun.target.updateMatrixWorld();
    this.requestRender();
  }

  get flying() { return this.flight !== null; }

  // Move the camera to ``position`` looking at ``target`` along an eased path. Time-based, not frame-based:
  // on software WebGL a frame can take 100 ms, and the flight must still end on time.
  flyTo(position, target, ms = FLY_MS, zoom = null) {
    this.flight = {
      fromZoom: this.camera.zoom, zoom: zoom ?? this.camera.zoom,
      fromPosition: this.camera.position.clone(), fromTarget: this.controls.target.clone(),
      position: position.clone(), target: target.clone(), start: performance.now(), ms: this.reducedMotion ? 0 : ms,
    };
    this.requestRender();
  }

  // Fly to a view of the box: close enough to fill the view, looking down into its room, from the current side
  // if ``clear(position, target)`` says nothing blocks the view from there, else from the first side that is
  // clear (a device on the wall nearest the camera is hidden by that wall).
  focus(box, clear = () => true) {
    const sphere = box.getBoundingSphere(new THREE.Sphere());
    if (this.planView) { // the plan stays a plan: centre the element and show its surroundings
      const span = Math.max(sphere.radius * 2 * FOCUS_MARGIN, FOCUS_MIN_SPAN);
      const zoom = THREE.MathUtils.clamp((this.ortho.top - this.ortho.bottom) / span, 1, 8);
      this.flyTo(new THREE.Vector3(sphere.center.x, this.ortho.position.y, sphere.center.z + 1e-3),
        new THREE.Vector3(sphere.center.x, this.controls.target.y, sphere.center.z), FLY_MS, zoom);
      return;
    }
    const fit = Math.max(sphere.radius, FOCUS_MIN_SPAN / 2) / Math.sin(THREE.MathUtils.degToRad(this.camera.fov) / 2);
    const distance = Math.min(Math.max(fit * FOCUS_MARGIN, FOCUS_MIN_DISTANCE), this.controls.maxDistance);
    const current = this.camera.position.clone().sub(this.controls.target);
    const azimuth = Math.atan2(current.x, current.z);
    const elevation = Math.max(Math.asin(THREE.MathUtils.clamp(current.normalize().y, -1, 1)), FOCUS_MIN_ELEVATION);
    const target = sphere.center;
    const at = (turn, up) => target.clone().addScaledVector(new THREE.Vector3(
      Math.cos(up) * Math.sin(azimuth + turn), Math.sin(up), Math.cos(up) * Math.cos(azimuth + turn),
    ), distance);
    for (const up of [elevation, Math.max(elevation, 1.1), 1.45]) {
      for (const turn of FOCUS_TURNS) {
        const position = at(turn, up);
        if (clear(position, target)) { this.flyTo(position, target); return; }
      }
    }
    this.flyTo(at(0, elevation), target);
  }

  // Back to the view of the whole building that frame() chose.
  flyHome() {
    if (this.planView && this.planHome) this.flyTo(this.planHome.position, this.planHome.target, FLY_MS, 1);
    else if (this.home) this.flyTo(this.home.position, this.home.target);
  }

  endFlight() { this.flight = null; }

  // One step of the current flight; true while it goes on.
  stepFlight() {
    const flight = this.flight;
    if (!flight) return false;
    const t = flight.ms > 0 ? Math.min(1, (performance.now() - flight.start) / flight.ms) : 1;
    const eased = t < 0.5 ? 4 * t ** 3 : 1 - (-2 * t + 2) ** 3 / 2; // ease in and out: no jolt at either end
    this.camera.position.lerpVectors(flight.fromPosition, flight.position, eased);
    this.controls.target.lerpVectors(flight.fromTarget, flight.target, eased);
    if (flight.zoom !== flight.fromZoom) {
      this.camera.zoom = THREE.MathUtils.lerp(flight.fromZoom, flight.zoom, eased);
      this.camera.updateProjectionMatrix();
    }
    if (t >= 1) this.flight = null;
    return t < 1;
  }

  // Screen (CSS pixel, relative to the page) position of a world point, or null when it is off screen.
  toScreen(point) {
    const ndc = point.clone().project(this.camera);
    if (Math.abs(ndc.x) > 1 || Math.abs(ndc.y) > 1 || ndc.z > 1) return null;
    const rect = this.renderer.domElement.getBoundingClientRect();
    return { x: rect.left + (ndc.x + 1) / 2 * rect.width, y: rect.top + (1 - ndc.y) / 2 * rect.height };
  }

  // Normalised device coordinates of a page position, for raycasting.
  toNdc(clientX, clientY) {
    const rect = this.renderer.domElement.getBoundingClientRect();
    return new THREE.Vector2((clientX - rect.left) / rect.width * 2 - 1, -((clientY - rect.top) / rect.height) * 2 + 1);
  }

  // Colours ('#rrggbb') of a fresh frame in the square of ``radius`` CSS pixels around a page position.
  coloursAround(clientX, clientY, radius) {
    this.renderNow();
    const gl = this.renderer.getContext();
    const rect = this.renderer.domElement.getBoundingClientRect();
    const scale = gl.drawingBufferWidth / rect.width;
    const size = Math.max(1, Math.round(2 * radius * scale));
    const x = Math.round((clientX - rect.left - radius) * scale);
    const y = Math.round(gl.drawingBufferHeight - (clientY - rect.top + radius) * scale); // GL rows run upwards
    const pixels = new Uint8Array(size * size * 4);
    gl.readPixels(x, y, size, size, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    const colours = new Set();
    for (let i = 0; i < pixels.length; i += 4) {
      colours.add(`#${[pixels[i], pixels[i + 1], pixels[i + 2]].map((v) => v.toString(16).padStart(2, '0')).join('')}`);
    }
    return [...colours];
  }

  // Render and read the frame back in the same task (the drawing buffer is not preserved afterwards).
  readPixels(step) {
    this.renderNow();
    const gl = this.renderer.getContext();
    const width = gl.drawingBufferWidth;
    const height = gl.drawingBufferHeight;
    const pixels = new Uint8Array(width * height * 4);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    const sampled = [];
    for (let y = 0; y < height; y += step) {
      for (let x = 0; x < width; x += step) {
        const i = (y * width + x) * 4;
        sampled.push(pixels[i], pixels[i + 1], pixels[i + 2]);
      }
    }
    return { width: Math.ceil(width / step), height: Math.ceil(height / step), rgb: sampled };
  }
}
