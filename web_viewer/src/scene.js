// The three.js stage: renderer, camera, orbit controls, lights; frames are rendered on demand, not in a loop,
// because software WebGL (kiosks, CI) cannot afford 60 frames a second of a static building.
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { BACKGROUND } from './palette.js';

const FLY_MS = 900;
const FOCUS_MIN_DISTANCE = 12; // metres: a small sensor is shown with the room around it
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
    this.camera = new THREE.PerspectiveCamera(45, 1, 0.1, 5000);
    this.camera.position.set(20, 15, 20);

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
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
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
        return Math.max(Math.abs(ndc.x), Math.abs(ndc.y));
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
  flyTo(position, target, ms = FLY_MS) {
    this.flight = {
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
    const fit = Math.max(sphere.radius, 0.5) / Math.sin(THREE.MathUtils.degToRad(this.camera.fov) / 2);
    const distance = Math.min(Math.max(fit * 1.15, FOCUS_MIN_DISTANCE), this.controls.maxDistance);
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
    if (this.home) this.flyTo(this.home.position, this.home.target);
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
