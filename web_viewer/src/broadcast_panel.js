// The broadcast panel of the security desk: PA zone states live (what plays, priority, since, who, speakers),
// start a broadcast to selected zones with a message and priority, stop one, and page from the microphone
// (MediaRecorder, uploaded when finished) or from a file. The page that mounts it feeds /ws "broadcast" frames to
// update(); texts come from the i18n bundle 'broadcast' (add it to the page's I18n).
import { el } from './dom.js';
import { getJson, postJson } from './api.js';
import { PaZonePlans } from './broadcast_plan.js';

export const BROADCAST_BUNDLE = 'broadcast';
const KINDS = ['page', 'notice', 'emergency', 'evacuation', 'music'];
const SECURITY_ONLY = new Set(['emergency', 'evacuation']);

function fill(text, fields) {
  return text.replace(/\{(\w+)\}/g, (_, key) => String(fields[key] ?? ''));
}

function clock(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

// The zone states to show: each zone's newest by the server's time ("at"). A GET answered before a change can
// arrive after the /ws frame of that change (a speaker's confirmation is one frame, never repeated): the older
// state must not overwrite it.
export function newestZones(shown, incoming) {
  const known = new Map(shown.map((zone) => [zone.zone, zone]));
  return incoming.map((zone) => {
    const before = known.get(zone.zone);
    return before && before.at > zone.at ? before : zone;
  });
}

export function mountBroadcastPanel(slot, { i18n }) {
  const t = (key, fields = {}) => fill(i18n.t(key), fields);
  let zones = [];
  let messages = [];
  const selected = new Set();
  let recorder = null;

  const list = el('ul', { class: 'bc-zones', 'data-testid': 'bc-zones' });
  const kind = el('select', { class: 'bc-kind', 'data-testid': 'bc-kind' });
  const message = el('select', { class: 'bc-message', 'data-testid': 'bc-message' });
  const start = el('button', { type: 'button', class: 'bc-start', 'data-testid': 'bc-start' });
  const mic = el('button', { type: 'button', class: 'bc-mic', 'data-testid': 'bc-mic' });
  const file = el('input', { type: 'file', accept: 'audio/*', class: 'bc-file', 'data-testid': 'bc-file' });
  const fileLabel = el('label', { class: 'bc-file-label' }, file);
  const status = el('p', { class: 'bc-status', role: 'status', 'data-testid': 'bc-status' });
  const all = el('button', { type: 'button', class: 'bc-link', 'data-testid': 'bc-all' });
  const none = el('button', { type: 'button', class: 'bc-link', 'data-testid': 'bc-none' });
  const title = el('h2', { class: 'bc-title' });
  const plans = el('div', { class: 'bc-plans-slot' }); // the zones on the floor plans, once the model is read
  const root = el('div', { class: 'bc-panel', 'data-testid': 'broadcast-panel' },
    el('div', { class: 'bc-head' }, title, el('span', { class: 'bc-tools' }, all, none)),
    plans,
    list,
    el('div', { class: 'bc-form' }, kind, message, start),
    el('div', { class: 'bc-form' }, mic, fileLabel),
    status);
  slot.replaceChildren(root);

  let said = null; // the last status as [key, fields, bad], so a language switch re-renders it
  function say(key, fields = {}, bad = false) {
    said = [key, fields, bad];
    status.textContent = t(key, fields);
    status.dataset.bad = bad ? 'true' : 'false';
  }

  // A refusal in the operator's language when its code is known, the server's own sentence otherwise.
  function failed(error) {
    const key = `bc.err.${error.code}`;
    if (error.code && i18n.has(key)) say(key, {}, true);
    else say('bc.error', { reason: error.message }, true);
  }

  function renderForm() {
    title.textContent = t('bc.title');
    all.textContent = t('bc.select_all');
    none.textContent = t('bc.select_none');
    start.textContent = t('bc.start');
    mic.textContent = recorder ? t('bc.mic_stop') : t('bc.mic');
    fileLabel.replaceChildren(document.createTextNode(t('bc.upload')), file);
    const chosenKind = kind.value || 'page';
    kind.replaceChildren(...KINDS.map((k) => {
      const option = el('option', { value: k }, t(`bc.kind.${k}`) + (SECURITY_ONLY.has(k) ? ` · ${t('bc.security_only')}` : ''));
      option.selected = k === chosenKind;
      return option;
    }));
    const chosenMessage = message.value;
    message.replaceChildren(...messages.map((m) => {
      const option = el('option', { value: m.id }, i18n.name(m.name));
      option.selected = m.id === chosenMessage;
      return option;
    }));
  }

  let plan = null; // PaZonePlans, when the server has a building model
  function toggle(zone) {
    if (selected.has(zone)) selected.delete(zone); else selected.add(zone);
    renderZones();
  }

  function renderZones() {
    plan?.update(zones, selected, (zone) => i18n.name(zone.name));
    list.replaceChildren(...zones.map((zone) => {
      const playing = zone.playing;
      const ok = zone.speakers.filter((s) => s.confirmed).length;
      const missing = playing ? zone.speakers.filter((s) => !s.confirmed).map((s) => s.id) : [];
      const box = el('input', { type: 'checkbox', 'data-testid': `bc-select-${zone.zone}` });
      box.checked = selected.has(zone.zone);
      box.addEventListener('change', () => {
        if (box.checked) selected.add(zone.zone); else selected.delete(zone.zone);
        plan?.update(zones, selected, (z) => i18n.name(z.name));
      });
      const line = [];
      if (playing) {
        line.push(el('span', { class: 'bc-kind-tag', 'data-kind': playing.kind }, t(`bc.kind.${playing.kind}`)));
        const what = i18n.name(playing.title);
        if (what !== t(`bc.kind.${playing.kind}`)) line.push(el('span', { class: 'bc-what' }, what)); // not "music music"
        if (playing.phase === 'sounder' || playing.phase === 'voice') line.push(el('span', { class: 'bc-phase' }, t(`bc.phase.${playing.phase}`)));
        line.push(el('span', { class: 'bc-meta' }, `${t('bc.since', { time: clock(playing.since) })} · ${t('bc.by', { who: playing.by })}`));
      } else {
        line.push(el('span', { class: 'bc-idle' }, t('bc.idle')));
      }
      if (zone.waiting.length) line.push(el('span', { class: 'bc-meta' }, t('bc.waiting', { n: zone.waiting.length })));
      const speakers = playing
        ? el('span', { class: 'bc-speakers', 'data-ok': String(!missing.length) }, t('bc.speakers', { ok, all: zone.speakers.length }))
        : el('span', { class: 'bc-speakers', 'data-ok': 'idle' }, t('bc.speaker_count', { all: zone.speakers.length }));
      const item = el('li', { class: 'bc-zone', 'data-zone': zone.zone, 'data-kind': playing?.kind ?? 'idle', 'data-testid': `bc-zone-${zone.zone}` },
        el('label', { class: 'bc-name' }, box, i18n.name(zone.name)),
        el('div', { class: 'bc-line' }, ...line), speakers);
      if (missing.length) item.append(el('div', { class: 'bc-missing' }, t('bc.speaker_failed', { list: missing.join(', ') })));
      if (playing) {
        const stop = el('button', { type: 'button', class: 'bc-stop', 'data-testid': `bc-stop-${zone.zone}` }, t('bc.stop'));
        stop.addEventListener('click', () => stopBroadcast(playing.broadcast));
        item.append(stop);
      }
      return item;
    }));
  }

  function chosenZones() {
    const chosen = zones.map((z) => z.zone).filter((z) => selected.has(z));
    if (!chosen.length) say('bc.no_zone', {}, true);
    return chosen;
  }

  async function act(work) {
    try { await work(); } catch (error) { failed(error); }
  }

  async function startBroadcast() {
    const chosen = chosenZones();
    if (!chosen.length) return;
    await act(async () => {
      const body = { kind: kind.value, zones: chosen };
      if (kind.value !== 'evacuation') body.message = message.value;
      const started = await postJson('/api/broadcast', body);
      say('bc.sent', { id: started.id });
      await refresh();
    });
  }

  async function stopBroadcast(id) {
    await act(async () => {
      await postJson(`/api/broadcast/${id}/stop`, { reason: t('bc.stop_reason') });
      say('bc.stopped', { id });
      await refresh();
    });
  }

  async function sendAudio(blob, name) {
    const chosen = chosenZones();
    if (!chosen.length) return;
    await act(async () => {
      const form = new FormData();
      form.append('audio', blob, name);
      form.append('zones', chosen.join(','));
      form.append('kind', kind.value === 'emergency' ? 'emergency' : 'page');
      const started = await postJson('/api/broadcast/audio', form);
      say('bc.sent', { id: started.id });
      await refresh();
    });
  }

  async function toggleMic() {
    if (recorder) { recorder.stop(); return; }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      say('bc.mic_denied', { reason: error.message || error.name }, true);
      return;
    }
    const chunks = [];
    const started = Date.now();
    recorder = new MediaRecorder(stream);
    const ticker = setInterval(() => say('bc.recording', { s: Math.round((Date.now() - started) / 1000) }), 500);
    recorder.addEventListener('dataavailable', (event) => { if (event.data.size) chunks.push(event.data); });
    recorder.addEventListener('stop', async () => {
      clearInterval(ticker);
      for (const track of stream.getTracks()) track.stop();
      const type = recorder.mimeType || 'audio/webm';
      recorder = null;
      renderForm();
      await sendAudio(new Blob(chunks, { type }), type.includes('ogg') ? 'mic.ogg' : 'mic.webm');
    });
    recorder.start(250);
    renderForm();
  }

  async function refresh() {
    const state = await getJson('/api/broadcast');
    messages = state.messages;
    zones = newestZones(zones, state.zones);
    renderForm();
    renderZones();
  }

  start.addEventListener('click', startBroadcast);
  mic.addEventListener('click', toggleMic);
  all.addEventListener('click', () => { for (const z of zones) selected.add(z.zone); renderZones(); });
  none.addEventListener('click', () => { selected.clear(); renderZones(); });
  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (chosen) await sendAudio(chosen, chosen.name);
    file.value = '';
  });
  i18n.onChange(() => {
    renderForm();
    renderZones();
    if (said) say(...said);
  });
  // The floor plans need the model's room footprints (they come when the model is read, the list does not wait);
  // without a model (404) the list alone serves.
  getJson('/api/model/elements').then((metadata) => {
    plan = new PaZonePlans(metadata, toggle);
    plans.replaceChildren(plan.root);
    renderZones();
  }).catch(() => {});
  const ready = act(refresh);

  return {
    ready,
    refresh,
    // A /ws frame {"type": "broadcast", "zones": [...]}: the zone states as they change.
    update(frame) {
      if (frame?.type !== 'broadcast' || !Array.isArray(frame.zones)) return;
      zones = newestZones(zones, frame.zones);
      renderZones();
    },
  };
}
