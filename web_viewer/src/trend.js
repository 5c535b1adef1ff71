// The trend of one analog point over the last hour, from /api/points/{id}/history, as a small SVG chart:
// the per-minute average as a line over the min-max band, with the range and the time span labelled.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 320;
const HEIGHT = 120;
const PAD = { left: 44, right: 8, top: 8, bottom: 20 };
export const TREND_WINDOW_S = 3600;
export const TREND_STEP_S = 60;

// {status: 'ok', series: [{ts, avg, min, max}]} or {status: 'none' | 'unavailable' | 'error', detail}.
export async function fetchTrend(pointId) {
  const url = `/api/points/${encodeURIComponent(pointId)}/history?step=${TREND_STEP_S}`;
  let response;
  try {
    response = await fetch(url, { cache: 'no-store' });
  } catch (error) {
    return { status: 'error', detail: String(error.message ?? error) };
  }
  if (response.status === 404 || response.status === 503) return { status: 'unavailable' };
  if (!response.ok) return { status: 'error', detail: `HTTP ${response.status}` };
  const body = await response.json();
  const series = (body.buckets ?? [])
    .filter((b) => Number.isFinite(b.avg))
    .map((b) => ({ ts: b.ts, avg: b.avg, min: b.min ?? b.avg, max: b.max ?? b.avg }));
  return series.length ? { status: 'ok', series, start: body.start, end: body.end } : { status: 'none' };
}

// The chart of a fetched series; ``format(value)`` writes a value with its unit, ``time(ts)`` a time of day.
export function trendChart(trend, format, time) {
  const { series } = trend;
  const lows = series.map((b) => b.min);
  const highs = series.map((b) => b.max);
  let low = Math.min(...lows);
  let high = Math.max(...highs);
  if (high - low < 1e-9) { // a flat line sits in the middle of a range one unit either side, labelled as such
    low -= 1;
    high += 1;
  }
  const start = trend.start ?? series[0].ts;
  const end = trend.end ?? series[series.length - 1].ts;
  const x = (ts) => PAD.left + ((ts - start) / Math.max(end - start, 1)) * (WIDTH - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - (v - low) / (high - low)) * (HEIGHT - PAD.top - PAD.bottom);
  const svg = node('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'trend-chart', role: 'img' });
  svg.append(node('rect', {
    x: PAD.left, y: PAD.top, width: WIDTH - PAD.left - PAD.right, height: HEIGHT - PAD.top - PAD.bottom,
    class: 'trend-frame',
  }));
  const band = [...series.map((b) => `${x(b.ts)},${y(b.max)}`), ...series.slice().reverse().map((b) => `${x(b.ts)},${y(b.min)}`)];
  svg.append(node('polygon', { points: band.join(' '), class: 'trend-band' }));
  svg.append(node('polyline', { points: series.map((b) => `${x(b.ts)},${y(b.avg)}`).join(' '), class: 'trend-line' }));
  const last = series[series.length - 1];
  svg.append(node('circle', { cx: x(last.ts), cy: y(last.avg), r: 3, class: 'trend-last' }));
  svg.append(label(PAD.left - 4, PAD.top + 8, format(high), 'end', 'trend-max'));
  svg.append(label(PAD.left - 4, HEIGHT - PAD.bottom, format(low), 'end', 'trend-min'));
  svg.append(label(PAD.left, HEIGHT - 4, time(start), 'start', 'trend-start'));
  svg.append(label(WIDTH - PAD.right, HEIGHT - 4, time(end), 'end', 'trend-end'));
  svg.dataset.samples = String(series.length);
  return svg;
}

function label(x, y, text, anchor, testId) {
  const element = node('text', { x, y, 'text-anchor': anchor, 'data-testid': testId });
  element.textContent = text;
  return element;
}

function node(tag, attributes) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}
