// Values as people read them: to the point's precision (never float32 noise), durations in minutes, units in the
// reader's language.

// Units as a reader writes them; site files use ASCII spellings. Per language where the languages differ.
const UNITS = {
  degC: { zh: '°C', en: '°C' }, degF: { zh: '°F', en: '°F' }, m3: { zh: 'm³', en: 'm³' },
  'm3/h': { zh: 'm³/h', en: 'm³/h' }, percent: { zh: '%', en: '%' }, '%RH': { zh: '%RH', en: '%RH' },
  people: { zh: '人', en: 'people' }, persons: { zh: '人', en: 'people' }, count: { zh: '个', en: '' },
  tickets: { zh: '张', en: 'tickets' }, min: { zh: '分钟', en: 'min' }, h: { zh: '小时', en: 'h' },
};
const SECONDS_UNITS = new Set(['s', 'sec', 'seconds']);
const MAX_DECIMALS = 3; // a value without a precision: at most this many decimals after the shortest form

// The shortest decimal that reads back as the same float32 (a float32 widened to a double carries noise:
// 24.200000762939453 is 24.2), or the value itself when it is not a float32.
export function shortest(value) {
  if (!Number.isFinite(value) || Number.isInteger(value)) return value;
  const single = Math.fround(value);
  if (single !== value) return value;
  for (let digits = 1; digits <= 9; digits += 1) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === single) return candidate;
  }
  return value;
}

export function unitText(unit, lang) {
  if (!unit) return '';
  return UNITS[unit]?.[lang] ?? unit;
}

// A duration in seconds as "17 min 48 s" / "17分48秒" (waits of minutes read badly as "1,068 s").
export function durationText(seconds, lang) {
  const total = Math.round(seconds);
  if (Math.abs(total) < 60) return lang === 'zh' ? `${total} 秒` : `${total} s`;
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (lang === 'zh') return `${hours ? `${hours} 小时 ` : ''}${minutes} 分${rest ? ` ${rest} 秒` : ''}`;
  return `${hours ? `${hours} h ` : ''}${minutes} min${rest ? ` ${rest} s` : ''}`;
}

// A number of a point with ``unit`` and ``precision`` (null: as read, float32 noise removed).
export function numberText(value, { unit = '', precision = null } = {}, lang = 'zh') {
  if (SECONDS_UNITS.has(unit)) return durationText(value, lang);
  const clean = shortest(value);
  const options = precision === null || precision === undefined
    ? { maximumFractionDigits: MAX_DECIMALS }
    : { minimumFractionDigits: precision, maximumFractionDigits: precision };
  const text = new Intl.NumberFormat(lang === 'zh' ? 'zh-CN' : 'en', options).format(clean);
  const shown = unitText(unit, lang);
  if (!shown) return text;
  return `${text} ${shown}`;
}
