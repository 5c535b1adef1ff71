// Texts the visitor page builds from numbers: walking times, distances, window lists, {name} fill-ins.

// "{n} 分钟" with the page's words; n filled in.
export function fill(template, values) {
  return String(template).replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

// Seconds as a visitor reads them: under a minute in seconds, else whole minutes (never "0 min").
export function duration(t, seconds) {
  if (!Number.isFinite(seconds)) return '';
  // Under 55 s in steps of 5 s; from there whole minutes ("60 s" reads worse than "1 min").
  if (seconds < 55) return fill(t('visitor.seconds'), { n: Math.max(5, Math.round(seconds / 5) * 5) });
  return fill(t('visitor.minutes'), { n: Math.max(1, Math.round(seconds / 60)) });
}

export function metres(t, value) {
  if (!Number.isFinite(value)) return '';
  return fill(t('visitor.metres'), { n: value < 10 ? value.toFixed(0) : String(Math.round(value)) });
}

// Window numbers as ranges: 1,2,3,5 -> "1–3、5" (the backend sorts them).
export function windowRanges(numbers, separator) {
  const values = numbers.map((n) => String(n));
  const runs = [];
  for (const value of values) {
    const last = runs.at(-1);
    const number = Number(value);
    if (last && Number.isInteger(number) && Number(last.at(-1)) + 1 === number) last.push(value);
    else runs.push([value]);
  }
  return runs.map((run) => (run.length > 2 ? `${run[0]}–${run.at(-1)}` : run.join(separator))).join(separator);
}

export function windowsText(t, numbers) {
  if (!numbers?.length) return '';
  const key = numbers.length === 1 ? 'visitor.window_one' : 'visitor.window_many';
  return fill(t(key), { list: windowRanges(numbers, t('visitor.list_separator')) });
}
