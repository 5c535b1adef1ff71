// The security desk's audible alarm: a two-tone beep (WebAudio, no sound file) when a critical alarm comes in,
// repeated while any critical alarm is unacknowledged, with a mute switch. Browsers start audio only after a
// user gesture: until then the switch says "click to enable sound" so a silent desk is never mistaken for a
// quiet one.
const REPEAT_MS = 4000;
const TONES = [[880, 0.18], [660, 0.18], [880, 0.18]]; // [Hz, seconds]
const VOLUME = 0.25;
const STORAGE_KEY = 'halltwin.desk.muted';

export class AlarmSound {
  // button: the header's toggle; its data-sound is needs_gesture | on | muted | unsupported
  constructor(button, i18n) {
    this.button = button;
    this.i18n = i18n;
    this.context = null;
    this.pending = 0; // unacknowledged critical alarms
    this.beeps = 0; // beeps played (tests read it)
    this.timer = null;
    try { this.muted = localStorage.getItem(STORAGE_KEY) === 'true'; } catch { this.muted = false; }
    const AudioContext = window.AudioContext ?? window.webkitAudioContext;
    this.supported = Boolean(AudioContext);
    if (this.supported) {
      this.context = new AudioContext();
      this.context.addEventListener('statechange', () => this.render());
      // Any click or key on the page is the gesture the browser waits for.
      const unlock = () => { if (this.context.state !== 'running') this.context.resume().catch(() => {}); };
      document.addEventListener('pointerdown', unlock, { capture: true });
      document.addEventListener('keydown', unlock, { capture: true });
    }
    button.addEventListener('click', () => this.toggle());
    i18n.onChange(() => this.render());
    this.render();
  }

  get state() {
    if (!this.supported) return 'unsupported';
    if (this.context.state !== 'running') return 'needs_gesture';
    return this.muted ? 'muted' : 'on';
  }

  async toggle() {
    if (!this.supported) return;
    if (this.context.state !== 'running') {
      await this.context.resume().catch(() => {});
      this.muted = false;
    } else {
      this.muted = !this.muted;
    }
    try { localStorage.setItem(STORAGE_KEY, String(this.muted)); } catch { /* storage may be disabled */ }
    this.render();
    if (!this.muted && this.pending) this.beep();
  }

  // count: unacknowledged critical alarms now; fresh: a new critical alarm just came in (beep at once)
  setPending(count, fresh = false) {
    this.pending = count;
    if (fresh) this.beep();
    if (count && !this.timer) this.timer = setInterval(() => this.beep(), REPEAT_MS);
    if (!count && this.timer) { clearInterval(this.timer); this.timer = null; }
    this.render();
  }

  beep() {
    if (this.state !== 'on') return;
    const start = this.context.currentTime + 0.02;
    let at = start;
    for (const [frequency, seconds] of TONES) {
      const oscillator = this.context.createOscillator();
      const gain = this.context.createGain();
      oscillator.type = 'square';
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0, at);
      gain.gain.linearRampToValueAtTime(VOLUME, at + 0.01); // no click at the start or end of a tone
      gain.gain.setValueAtTime(VOLUME, at + seconds - 0.02);
      gain.gain.linearRampToValueAtTime(0, at + seconds);
      oscillator.connect(gain).connect(this.context.destination);
      oscillator.start(at);
      oscillator.stop(at + seconds);
      at += seconds + 0.05;
    }
    this.beeps += 1;
  }

  render() {
    const state = this.state;
    this.button.dataset.sound = state;
    this.button.dataset.pending = String(this.pending);
    this.button.setAttribute('aria-pressed', String(state === 'on'));
    this.button.textContent = this.i18n.t(`desk.sound_${state}`);
    this.button.title = this.i18n.t(`desk.sound_${state}_hint`);
    this.button.disabled = state === 'unsupported';
  }
}
