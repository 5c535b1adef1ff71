// The big screen's ECharts: options built from the overview and the queue figures, sized in the page's rem unit so
// that 1920x1080 and 3840x2160 look the same. One ECharts instance per chart element, resized with the window.
import * as echarts from 'echarts';

const TEXT = '#c8d6e5';
const GRID_LINE = '#1f3650';
const COLOURS = ['#4fb3ff', '#ffb44f', '#5ee3a1', '#ff6b8a', '#b48cff', '#62d6e8', '#f2e35c', '#ff9a62'];
const PRIORITY_COLOURS = { critical: '#ff4d4f', high: '#ff9a3c', medium: '#ffd23f', low: '#5ab0ff' };

export class ScreenCharts {
  constructor(root, i18n) {
    this.i18n = i18n;
    this.charts = new Map();
    for (const node of root.querySelectorAll('[data-chart]')) {
      this.charts.set(node.dataset.chart, echarts.init(node, null, { renderer: 'canvas' }));
    }
    addEventListener('resize', () => this.resize());
  }

  rem() { return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16; }

  resize() { for (const chart of this.charts.values()) chart.resize(); }

  base() {
    const r = this.rem();
    return {
      animation: false,
      textStyle: { color: TEXT, fontSize: 0.8 * r },
      color: COLOURS,
      grid: { left: 3 * r, right: 1.2 * r, top: 2.2 * r, bottom: 1.8 * r },
      legend: { top: 0, right: 0, textStyle: { color: TEXT, fontSize: 0.75 * r }, itemWidth: r, itemHeight: 0.6 * r },
      tooltip: { trigger: 'axis' },
    };
  }

  axis(extra = {}) {
    const r = this.rem();
    return {
      axisLine: { lineStyle: { color: GRID_LINE } }, splitLine: { lineStyle: { color: GRID_LINE } },
      axisLabel: { color: TEXT, fontSize: 0.7 * r }, nameTextStyle: { color: TEXT, fontSize: 0.7 * r }, ...extra,
    };
  }

  // curve: [[epoch s, people]] per quarter hour since the hall's local midnight (dayStart): the axis is the hall's
  // hours of the day (not the browser's time zone), 0-24.
  people(curve, dayStart) {
    const t = (k) => this.i18n.t(k);
    const r = this.rem();
    const hour = (ts) => Math.round(((ts - dayStart) / 3600) * 100) / 100;
    this.charts.get('people').setOption({
      ...this.base(),
      legend: { show: false },
      tooltip: { trigger: 'axis', valueFormatter: (v) => String(v) },
      xAxis: this.axis({ type: 'value', min: 0, max: 24, interval: 3, splitLine: { show: false },
        axisLabel: { color: TEXT, fontSize: 0.7 * r, formatter: (h) => `${String(h).padStart(2, '0')}:00` } }),
      yAxis: this.axis({ type: 'value', minInterval: 1 }),
      series: [{ name: t('screen.people'), type: 'line', smooth: true, showSymbol: curve.length < 4,
        symbolSize: 0.5 * r, areaStyle: { opacity: 0.25 }, data: curve.map(([ts, v]) => [hour(ts), v]) }],
    }, true);
  }

  queues(queues) {
    const t = (k) => this.i18n.t(k);
    const services = queues?.services ?? [];
    const r = this.rem();
    this.charts.get('queues').setOption({
      ...this.base(),
      grid: { left: 2.6 * r, right: 2.8 * r, top: 2.2 * r, bottom: 2.6 * r },
      xAxis: this.axis({ type: 'category', data: services.map((s) => this.i18n.name(s.name).replace(/窗口$|windows$/i, '')),
        axisLabel: { color: TEXT, fontSize: 0.68 * r, interval: 0, overflow: 'truncate', width: 5 * r } }),
      legend: { ...this.base().legend, left: 0, right: 'auto' },
      yAxis: [this.axis({ type: 'value', minInterval: 1 }),
        this.axis({ type: 'value', splitLine: { show: false } })],
      series: [
        { name: t('screen.waiting_series'), type: 'bar', barMaxWidth: 1.6 * r, data: services.map((s) => s.waiting),
          label: { show: true, position: 'top', color: '#e9f2fb', fontSize: 0.7 * r } },
        { name: t('screen.p90_series'), type: 'line', yAxisIndex: 1, symbolSize: 0.5 * r,
          data: services.map((s) => (s.wait_p90_s == null ? null : Math.round(s.wait_p90_s / 6) / 10)) },
        { name: t('screen.forecast_series'), type: 'bar', barMaxWidth: 1.6 * r, itemStyle: { opacity: 0.45 },
          data: services.map((s) => Math.round(s.forecast?.arrivals ?? 0)) },
      ],
    }, true);
  }

  entrances(entrances) {
    const t = (k) => this.i18n.t(k);
    const r = this.rem();
    this.charts.get('entrances').setOption({
      ...this.base(),
      grid: { left: 7 * r, right: 1.5 * r, top: 2 * r, bottom: 1.4 * r },
      xAxis: this.axis({ type: 'value', minInterval: 1 }),
      yAxis: this.axis({ type: 'category', data: entrances.map((e) => this.i18n.name(e.name)) }),
      series: [
        { name: t('screen.in'), type: 'bar', data: entrances.map((e) => e.in_today), barMaxWidth: 1.1 * r },
        { name: t('screen.out'), type: 'bar', data: entrances.map((e) => e.out_today), barMaxWidth: 1.1 * r },
      ],
    }, true);
  }

  alarms(byPriority, orders) {
    const t = (k) => this.i18n.t(k);
    const r = this.rem();
    const priorities = ['critical', 'high', 'medium', 'low'];
    const total = priorities.reduce((sum, p) => sum + (byPriority[p] ?? 0), 0);
    const statuses = ['open', 'assigned', 'acknowledged', 'in_progress', 'resolved'];
    this.charts.get('alarms').setOption({
      ...this.base(),
      tooltip: { trigger: 'item' },
      legend: { show: false },
      grid: { left: '55%', right: 1 * r, top: 1.4 * r, bottom: 1.4 * r },
      xAxis: this.axis({ type: 'value', minInterval: 1 }),
      yAxis: this.axis({ type: 'category', inverse: true, data: statuses.map((s) => t(`screen.order.${s}`)) }),
      title: [{ text: t('screen.alarms_open'), left: '24%', top: 0, textAlign: 'center',
        textStyle: { color: TEXT, fontSize: 0.75 * r, fontWeight: 'normal' } },
      { text: t('screen.orders'), left: '77%', top: 0, textAlign: 'center',
        textStyle: { color: TEXT, fontSize: 0.75 * r, fontWeight: 'normal' } },
      // The total in the ring's middle; with none, the ring says so instead of standing empty.
      { text: total ? String(total) : t('screen.no_alarms'), left: '24%', top: '55%', textAlign: 'center',
        textVerticalAlign: 'middle', textStyle: { color: total ? '#e9f2fb' : TEXT, fontSize: (total ? 1.4 : 0.62) * r } }],
      series: [
        { type: 'pie', radius: ['34%', '56%'], center: ['24%', '55%'], minAngle: 4,
          label: { color: TEXT, fontSize: 0.72 * r, formatter: '{b} {c}' },
          data: priorities.filter((p) => byPriority[p] > 0).map((p) => ({ name: t(`screen.priority.${p}`),
            value: byPriority[p], itemStyle: { color: PRIORITY_COLOURS[p] } })),
          emptyCircleStyle: { color: '#1a2c3f' }, showEmptyCircle: true },
        { type: 'bar', barMaxWidth: 0.9 * r, data: statuses.map((s) => orders[s] ?? 0),
          label: { show: true, position: 'right', color: '#e9f2fb', fontSize: 0.7 * r } },
      ],
    }, true);
  }

  energy(energy) {
    const t = (k) => this.i18n.t(k);
    const r = this.rem();
    this.charts.get('energy').setOption({
      ...this.base(),
      legend: { show: false },
      grid: { left: 8.5 * r, right: 3 * r, top: 1 * r, bottom: 1.4 * r },
      xAxis: this.axis({ type: 'value', name: t('screen.kwh') }),
      yAxis: this.axis({ type: 'category', inverse: true,
        data: energy.map((e) => this.i18n.name(e.name).replace(/^(.*?)\s*\(.*\)$/, '$1')) }),
      series: [{ type: 'bar', barMaxWidth: 0.9 * r, data: energy.map((e) => e.kwh_today),
        label: { show: true, position: 'right', color: '#e9f2fb', fontSize: 0.68 * r } }],
    }, true);
  }
}
