// The selected alarm at the security desk: what and where, its ISA-18.2 state, the operator's actions
// (acknowledge, shelve with a duration and reason, unshelve, reset of a latched alarm once its condition is gone,
// comment), its emergency plan as a checklist whose steps are recorded on the server, what the linkage did, and
// its history. Every refusal is shown with the server's reason.
import { getJson, postJson } from './api.js';
import {
  PRIORITY_COLOURS, STATE_STYLES, canShelve, isShelved, lifeSafety, needsAck, resettable, shownState, timeText,
} from './alarm_state.js';
import { notOlder } from './alarm_feed.js';
import { el } from './dom.js';
import { durationText } from './format.js';
import { KeptForms, keepFocus } from './kept_forms.js';

const SHELVE_MINUTES = [15, 30, 60, 120, 240, 480];

export class AlarmDetail {
  // panel: the detail tab; me: /api/auth/me (role); onAlarm(alarm): an action's answer (the newer alarm)
  constructor(panel, i18n, { me, devices, zoneName, onAlarm, dialog }) {
    this.panel = panel;
    this.i18n = i18n;
    this.me = me;
    this.devices = devices;
    this.zoneName = zoneName;
    this.onAlarm = onAlarm;
    this.dialog = dialog;
    this.alarm = null;
    this.plan = null; // checklist JSON, or {missing: reason}
    this.events = [];
    this.linkage = null;
    this.message = null; // {kind: ok|error, text}
    this.shelving = false;
    this.kept = new KeptForms(); // the comment and shelve forms of the alarm shown, kept across redraws
    this.loads = 0;
    this.render();
  }

  async show(alarm) {
    const other = this.alarm?.id !== alarm?.id;
    this.alarm = alarm;
    if (other) { this.message = null; this.shelving = false; this.plan = null; this.events = []; this.linkage = null; this.kept.clear(); }
    this.render();
    if (alarm) await this.load();
  }

  // A transition of the alarm shown (from /ws): keep the form the user is typing in, refresh the rest.
  update(alarm) {
    if (!this.alarm || alarm.id !== this.alarm.id || !notOlder(alarm, this.alarm)) return;
    this.alarm = alarm;
    this.render();
    this.load();
  }

  async load() {
    const id = this.alarm.id;
    const ticket = ++this.loads;
    const [detail, plan, linkage] = await Promise.allSettled([
      getJson(`/api/alarms/${id}`),
      this.alarm.plan ? getJson(`/api/alarms/${id}/plan`) : Promise.reject(new Error('')),
      getJson(`/api/alarms/${id}/linkage`),
    ]);
    if (ticket !== this.loads || this.alarm?.id !== id) return; // another alarm was chosen meanwhile
    if (detail.status === 'fulfilled') this.events = detail.value.events ?? [];
    // No plan for the class (or none found): said in the reader's language, with the server's reason if any.
    this.plan = plan.status === 'fulfilled' ? plan.value : { missing: plan.reason.status === 404 || !plan.reason.message ? '' : plan.reason.message };
    this.linkage = linkage.status === 'fulfilled' ? linkage.value : null;
    this.render();
  }

  async act(path, body, okKey) {
    try {
      const alarm = await postJson(`/api/alarms/${this.alarm.id}/${path}`, body);
      this.message = { kind: 'ok', text: this.i18n.t(okKey) };
      this.shelving = false;
      this.kept.drop(`shelve:${this.alarm.id}:${this.i18n.lang}`); // shelving again starts from a fresh form
      if (notOlder(alarm, this.alarm)) this.alarm = alarm; // a /ws frame may have brought a newer view already
      this.onAlarm(alarm);
      await this.load();
    } catch (error) {
      this.message = { kind: 'error', text: `${this.i18n.t('desk.refused')} ${error.message}` };
      this.render();
      throw error;
    }
  }

  render() {
    const restoreFocus = keepFocus(); // the comment or shelve reason being typed stays as it is (KeptForms)
    const t = (key) => this.i18n.t(key);
    const alarm = this.alarm;
    if (!alarm) {
      this.panel.replaceChildren(el('p', { class: 'muted', 'data-testid': 'detail-empty' }, t('desk.pick_alarm')));
      return;
    }
    const state = shownState(alarm);
    const style = STATE_STYLES[state];
    const lang = this.i18n.lang;
    const device = alarm.device ? this.devices.byId.get(alarm.device) : null;
    const facts = [
      ['desk.class', t(`alarm.class.${alarm.alarm_class}`)],
      ['desk.zone', alarm.zone ? this.zoneName(alarm.zone)
        : alarm.space_guids?.length ? `${alarm.space_guids.length} ${t('desk.rooms')}` : '—'],
      ['desk.device', device ? this.i18n.name(device.name) : (alarm.device ?? '—')],
      ['desk.raised', timeText(alarm.raised_at, lang)],
      ['desk.acked', alarm.acked_at ? `${timeText(alarm.acked_at, lang)} · ${alarm.acked_by ?? ''}` : '—'],
      ['desk.cleared', alarm.cleared_at ? timeText(alarm.cleared_at, lang) : (alarm.active ? t('desk.still_active') : '—')],
      ['desk.work_order', alarm.work_order ? `#${alarm.work_order}` : '—'],
    ];
    if (isShelved(alarm)) facts.push(['desk.shelved', `${timeText(alarm.shelved_until, lang)} · ${alarm.shelved_by ?? ''} · ${alarm.shelve_reason ?? ''}`]);
    if (alarm.out_of_service) facts.push(['desk.oos', alarm.oos_reason ?? '']);
    this.panel.replaceChildren(
      el('div', { class: 'detail-head' },
        el('span', { class: 'priority', style: `background:${PRIORITY_COLOURS[alarm.priority]}` }, t(`alarm.priority.${alarm.priority}`)),
        el('span', { class: `alarm-state big${style.flashing ? ' flashing' : ''}`, style: `color:${style.colour}`, 'data-testid': 'detail-state', 'data-state': state },
          `${style.icon} ${t(`alarm.state.${state}`)}`),
        ...(alarm.drill ? [el('span', { class: 'tag drill' }, t('alarm.drill'))] : [])),
      el('h3', { class: 'detail-title', 'data-testid': 'detail-title' }, this.i18n.name(alarm.title)),
      el('p', { class: 'detail-message' }, this.i18n.name(alarm.message)),
      el('dl', { class: 'facts' }, ...facts.flatMap(([key, value]) => [el('dt', {}, t(key)), el('dd', {}, value)])),
      this.actions(),
      ...(this.message ? [el('p', { class: `action-message ${this.message.kind}`, role: 'status', 'data-testid': 'action-message' }, this.message.text)] : []),
      this.checklist(),
      this.linkageSection(),
      this.history(),
    );
    restoreFocus();
  }

  actions() {
    const t = (key) => this.i18n.t(key);
    const alarm = this.alarm;
    const buttons = [];
    const notes = [];
    const button = (key, testid, onClick, extra = {}) => {
      const b = el('button', { type: 'button', 'data-testid': testid, ...extra }, t(key));
      b.addEventListener('click', onClick);
      buttons.push(b);
      return b;
    };
    if (needsAck(alarm)) button('desk.ack', 'ack', () => this.act('ack', undefined, 'desk.acked_ok').catch(() => {}), { class: 'primary' });
    if (isShelved(alarm)) button('desk.unshelve', 'unshelve', () => this.act('unshelve', undefined, 'desk.unshelved_ok').catch(() => {}));
    else if (canShelve(alarm)) button('desk.shelve', 'shelve', () => { this.shelving = !this.shelving; this.render(); });
    else if (lifeSafety(alarm)) notes.push(t('desk.no_shelve_life_safety'));
    if (resettable(alarm)) {
      const why = this.resetBlocked();
      const reset = button('desk.reset', 'reset', () => this.confirmReset());
      if (why) { reset.disabled = true; reset.title = why; notes.push(why); }
    }
    const section = el('div', { class: 'actions', 'data-testid': 'actions' }, ...buttons);
    const parts = [section];
    for (const note of notes) parts.push(el('p', { class: 'note', 'data-testid': 'action-note' }, note));
    if (this.shelving) parts.push(this.shelveForm());
    parts.push(this.commentForm());
    return el('div', { class: 'action-block' }, ...parts);
  }

  // Why reset is not possible now, or null: the button or panel still in alarm, or (emergency buttons,
  // GB 50394) the caller is not security staff.
  resetBlocked() {
    const t = (key) => this.i18n.t(key);
    if (this.alarm.active) return t(this.alarm.alarm_class === 'emergency' ? 'desk.reset_still_pressed' : 'desk.reset_still_active');
    if (this.alarm.alarm_class === 'emergency' && this.me?.role && this.me.role !== 'security') return t('desk.reset_security_only');
    return null;
  }

  confirmReset() {
    const t = (key) => this.i18n.t(key);
    const comment = el('textarea', { name: 'comment', rows: '2', maxlength: '1000', 'data-testid': 'reset-comment' });
    this.dialog.open({
      title: `${t('desk.reset_confirm')} ${this.i18n.name(this.alarm.title)}`,
      fields: [el('label', { class: 'field' }, el('span', {}, t('desk.comment_optional')), comment)],
      okText: t('desk.reset'),
      action: () => this.act('reset', comment.value.trim() ? { comment: comment.value.trim() } : undefined, 'desk.reset_ok'),
    });
  }

  shelveForm() {
    return this.kept.get(`shelve:${this.alarm.id}:${this.i18n.lang}`, () => this.newShelveForm());
  }

  newShelveForm() {
    const t = (key) => this.i18n.t(key);
    const minutes = el('select', { name: 'minutes', 'data-testid': 'shelve-minutes' },
      ...SHELVE_MINUTES.map((m) => el('option', { value: String(m) }, durationText(m * 60, this.i18n.lang))));
    minutes.value = '60';
    const reason = el('input', { name: 'reason', required: '', maxlength: '500', 'data-testid': 'shelve-reason', placeholder: t('desk.reason_placeholder') });
    const oneShot = el('input', { type: 'checkbox', name: 'one_shot', 'data-testid': 'shelve-one-shot' });
    const form = el('form', { class: 'shelve-form', 'data-testid': 'shelve-form' },
      el('label', { class: 'field' }, el('span', {}, t('desk.shelve_for')), minutes),
      el('label', { class: 'field' }, el('span', {}, t('desk.reason')), reason),
      el('label', { class: 'check' }, oneShot, el('span', {}, t('desk.one_shot'))),
      el('button', { type: 'submit', class: 'primary', 'data-testid': 'shelve-submit' }, t('desk.shelve')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!reason.value.trim()) { reason.setCustomValidity(t('desk.reason_needed')); form.reportValidity(); reason.setCustomValidity(''); return; }
      this.act('shelve', { minutes: Number(minutes.value), reason: reason.value.trim(), one_shot: oneShot.checked }, 'desk.shelved_ok').catch(() => {});
    });
    return form;
  }

  commentForm() {
    return this.kept.get(`comment:${this.alarm.id}:${this.i18n.lang}`, () => this.newCommentForm());
  }

  newCommentForm() {
    const t = (key) => this.i18n.t(key);
    const text = el('input', { name: 'text', maxlength: '2000', 'data-testid': 'comment-text', placeholder: t('desk.comment_placeholder') });
    const form = el('form', { class: 'comment-form' }, text,
      el('button', { type: 'submit', 'data-testid': 'comment-submit' }, t('desk.comment')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const note = text.value.trim();
      if (!note) return;
      text.value = ''; // at once, ready for the next note; a refused one is put back
      this.act('comment', { text: note }, 'desk.commented_ok').catch(() => { if (!text.value) text.value = note; });
    });
    return form;
  }

  checklist() {
    const t = (key) => this.i18n.t(key);
    const head = el('h4', {}, t('desk.plan'));
    if (!this.plan) return el('section', { class: 'plan' }, head, el('p', { class: 'muted' }, t('desk.loading')));
    if ('missing' in this.plan) {
      return el('section', { class: 'plan', 'data-testid': 'plan' }, head,
        el('p', { class: 'muted' }, [t('desk.no_plan'), this.plan.missing].filter(Boolean).join(' ')));
    }
    const plan = this.plan;
    const mayTick = this.me?.role === 'security' || this.me?.role === 'admin' || !this.me;
    const steps = plan.steps.map((step) => {
      const box = el('input', { type: 'checkbox', 'data-testid': 'plan-step', 'data-step': String(step.n) });
      box.checked = step.done;
      box.disabled = step.done || !mayTick;
      box.addEventListener('change', () => this.tick(step.n, box));
      const done = step.done
        ? el('span', { class: 'done-by' }, `${step.done_by ?? ''} · ${timeText(new Date(step.done_at * 1000).toISOString(), this.i18n.lang)}`
          + (step.after_s != null ? ` (+${durationText(step.after_s, this.i18n.lang)})` : ''))
        : '';
      return el('li', { class: step.done ? 'done' : '' },
        el('label', {}, box, el('span', {}, `${step.n}. ${this.i18n.name(step.text)}`)), done);
    });
    return el('section', { class: 'plan', 'data-testid': 'plan' },
      el('h4', {}, `${t('desk.plan')}: ${this.i18n.name(plan.name)} (${plan.done}/${plan.total})`),
      el('ol', {}, ...steps));
  }

  async tick(n, box) {
    box.disabled = true;
    try {
      this.plan = await postJson(`/api/alarms/${this.alarm.id}/plan/steps/${n}/done`);
      this.message = null;
    } catch (error) {
      box.checked = false;
      this.message = { kind: 'error', text: `${this.i18n.t('desk.refused')} ${error.message}` };
    }
    this.render();
  }

  linkageSection() {
    const t = (key) => this.i18n.t(key);
    const actions = this.linkage?.actions ?? [];
    if (!actions.length) return el('span', { hidden: '' });
    return el('section', { class: 'linkage', 'data-testid': 'linkage' }, el('h4', {}, t('desk.linkage')),
      el('ul', {}, ...actions.map((a) => el('li', { 'data-status': a.status },
        el('span', { class: 'status' }, t(`desk.linkage_${a.status}`)), ' ', a.detail ?? a.kind))));
  }

  history() {
    const t = (key) => this.i18n.t(key);
    return el('section', { class: 'history', 'data-testid': 'history' }, el('h4', {}, t('desk.history')),
      el('ul', {}, ...[...this.events].reverse().map((event) => el('li', {},
        el('span', { class: 'when' }, timeText(event.at, this.i18n.lang)), ' ',
        el('strong', {}, this.i18n.has(`desk.event_${event.kind}`) ? t(`desk.event_${event.kind}`) : event.kind),
        event.by ? ` · ${event.by}` : '', event.reason ? ` · ${event.reason}` : ''))));
  }
}
