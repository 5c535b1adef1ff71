// The three.js stage: renderer, camera, orbit controls, lights; frames are rendered on demand, not in a loop,
// because software WebGL (kiosks, CI) cannot afford 60 frames a second of a static building.
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { BACKGROUND } from './palette.js';

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
      // Damping keeps moving after the pointer stops: keep drawing until it settles.
      if (this.controls.update()) this.requestRender();
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
    this.controls.maxDistance = distance * 6;
    this.controls.update();
    this.sun.position.copy(sphere.center).add(new THREE.Vector3(0.6, 1, 0.45).multiplyScalar(radius * 2));
    this.sun.target.position.copy(sphere.center);
    this.sun.target.updateMatrixWorld();
    this.requestRender();
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
