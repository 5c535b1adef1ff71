// The alarm KPI panel (ISA-18.2 alarm system health, GET /api/alarms/kpis): the figures against their targets,
// and three Apache ECharts charts: alarms per 10 minutes (with the target line and floods marked), the priority
// mix, and the top-10 sources. ECharts (1 MB) is loaded the first time the panel is shown.
import { getJson } from './api.js';
import { PRIORITIES, PRIORITY_COLOURS } from './alarm_state.js';
import { el } from './dom.js';

const WINDOWS_MIN = [60, 480, 1440];
const REFRESH_MS = 30_000;

export class KpiPanel {
  constructor(panel, i18n) {
    this.panel = panel;
    this.i18n = i18n;
    this.windowMin = 60;
    this.kpis = null;
    this.error = null;
    this.echarts = null;
    this.charts = [];
    this.timer = null;
    this.queued = null;
    this.renders = 0;
  }

  // The panel became visible: load ECharts once, then the figures.
  async shown() {
    if (!this.echarts) {
      try {
        this.echarts = await import('echarts');
      } catch (error) {
        this.error = `ECharts: ${error.message}`;
      }
    }
    if (!this.timer) this.timer = setInterval(() => { if (!this.panel.hidden) this.refresh(); }, REFRESH_MS);
    await this.refresh();
  }

  // An alarm transition: refresh soon, once for a burst.
  soon() {
    if (this.panel.hidden || this.queued) return;
    this.queued = setTimeout(() => { this.queued = null; this.refresh(); }, 1500);
  }

  async refresh() {
    try {
      this.kpis = await getJson(`/api/alarms/kpis?window_min=${this.windowMin}`);
      if (!this.echarts) throw new Error(this.error ?? 'ECharts');
      this.error = null;
    } catch (error) {
      this.error = error.message;
    }
    this.render();
  }

  render() {
    const t = (key) => this.i18n.t(key);
    for (const chart of this.charts) chart.dispose();
    this.charts = [];
    const choice = el('select', { 'data-testid': 'kpi-window', 'aria-label': t('desk.kpi_window') },
      ...WINDOWS_MIN.map((m) => el('option', { value: String(m) }, t(`desk.kpi_window_${m}`))));
    choice.value = String(this.windowMin);
    choice.addEventListener('change', () => { this.windowMin = Number(choice.value); this.refresh(); });
    const head = el('div', { class: 'kpi-head' }, el('h4', {}, t('desk.kpis')), choice);
    const k = this.kpis;
    if (!k) {
      this.panel.replaceChildren(head, el('p', { class: this.error ? 'action-message error' : 'muted' }, this.error ?? t('desk.loading')));
      return;
    }
    const figure = (key, value, bad = false) => el('div', { class: `figure${bad ? ' bad' : ''}`, 'data-kpi': key },
      el('span', { class: 'value' }, String(value)), el('span', { class: 'label' }, t(`desk.kpi_${key}`)));
    const critical = k.priority_mix?.critical?.share ?? 0;
    const figures = el('div', { class: 'figures', 'data-testid': 'kpi-figures' },
      figure('total', k.total),
      figure('per_10_min', `${k.per_10_min.toFixed(1)} / ${k.per_10_min_target}`, k.per_10_min > k.per_10_min_target),
      figure('peak', k.peak_10_min, k.peak_10_min >= k.flood_threshold),
      figure('floods', k.floods, k.floods > 0),
      figure('unacknowledged', k.unacknowledged, k.unacknowledged > 0),
      figure('stale', k.stale, k.stale > 0),
      figure('chattering', k.chattering, k.chattering > 0),
      figure('shelved', `${k.shelved} / ${k.out_of_service}`),
      figure('critical_share', `${Math.round(critical * 100)}%`, critical > k.critical_share_max));
    const rate = el('div', { class: 'chart', 'data-testid': 'kpi-chart-rate' });
    const mix = el('div', { class: 'chart small', 'data-testid': 'kpi-chart-mix' });
    const top = el('div', { class: 'chart', 'data-testid': 'kpi-chart-top' });
    this.panel.replaceChildren(head, figures,
      ...(this.error ? [el('p', { class: 'action-message error' }, this.error)] : []), rate, mix, top);
    if (!this.echarts || this.panel.hidden) return;
    this.charts = [this.rateChart(rate, k), this.mixChart(mix, k), this.topChart(top, k)];
    this.renders += 1;
  }

  chart(node) { return this.echarts.init(node, null, { renderer: 'canvas' }); }

  rateChart(node, k) {
    const t = (key) => this.i18n.t(key);
    const locale = this.i18n.lang === 'zh' ? 'zh-CN' : 'en-GB';
    const chart = this.chart(node);
    chart.setOption({
      animation: false,
      title: { text: t('desk.kpi_rate_title'), textStyle: { fontSize: 13 } },
      grid: { left: 34, right: 36, top: 32, bottom: 26 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: k.buckets.map((b) => new Date(b.start * 1000).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' })) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{
        type: 'bar', name: t('desk.kpi_alarms'),
        data: k.buckets.map((b) => ({ value: b.count, itemStyle: { color: b.count >= k.flood_threshold ? '#c62828' : '#2f6fb3' } })),
        markLine: { symbol: 'none', data: [{ yAxis: k.per_10_min_target, name: t('desk.kpi_target') }], lineStyle: { color: '#2e9e4f', type: 'dashed' }, label: { formatter: t('desk.kpi_target') } },
      }],
    });
    return chart;
  }

  mixChart(node, k) {
    const t = (key) => this.i18n.t(key);
    const chart = this.chart(node);
    chart.setOption({
      animation: false,
      title: { text: t('desk.kpi_mix_title'), textStyle: { fontSize: 13 } },
      tooltip: { trigger: 'item' },
      legend: { orient: 'vertical', right: 0, top: 'middle', textStyle: { fontSize: 11 } },
      series: [{
        type: 'pie', radius: ['40%', '70%'], center: ['35%', '58%'], label: { show: false },
        data: PRIORITIES.map((p) => ({ name: t(`alarm.priority.${p}`), value: k.priority_mix[p]?.count ?? 0, itemStyle: { color: PRIORITY_COLOURS[p] } })),
      }],
    });
    return chart;
  }

  topChart(node, k) {
    const t = (key) => this.i18n.t(key);
    const chart = this.chart(node);
    const sources = [...k.top_sources].reverse(); // the largest at the top
    chart.setOption({
      animation: false,
      title: { text: t('desk.kpi_top_title'), textStyle: { fontSize: 13 } },
      grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', data: sources.map((s) => s.source), axisLabel: { fontSize: 10, width: 120, overflow: 'truncate' } },
      series: [{ type: 'bar', data: sources.map((s) => s.count), itemStyle: { color: '#e8590c' } }],
    });
    return chart;
  }

  resize() { for (const chart of this.charts) chart.resize(); }
}
