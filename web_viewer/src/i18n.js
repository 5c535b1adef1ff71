// Texts of the viewer in Chinese (first, the default) and English, loaded from /i18n/<lang>.json.
export const LANGUAGES = ['zh', 'en'];
const STORAGE_KEY = 'halltwin.lang';
const CJK = /[\u3400-\u9fff]/;

export class I18n {
  constructor() {
    this.lang = LANGUAGES[0];
    this.texts = {};
    this.fallback = {};
    this.listeners = [];
  }

  async load(lang) {
    const wanted = LANGUAGES.includes(lang) ? lang : LANGUAGES[0];
    const [texts, fallback] = await Promise.all([fetchTexts(wanted), fetchTexts(LANGUAGES[0])]);
    this.lang = wanted;
    this.texts = texts;
    this.fallback = fallback;
    document.documentElement.lang = wanted === 'zh' ? 'zh-CN' : wanted;
    try { localStorage.setItem(STORAGE_KEY, wanted); } catch { /* storage may be disabled: keep the default */ }
    this.apply(document);
    for (const listener of this.listeners) listener(wanted);
  }

  static savedLanguage() {
    try { return localStorage.getItem(STORAGE_KEY) || LANGUAGES[0]; } catch { return LANGUAGES[0]; }
  }

  onChange(listener) { this.listeners.push(listener); }

  next() { return LANGUAGES[(LANGUAGES.indexOf(this.lang) + 1) % LANGUAGES.length]; }

  has(key) { return key in this.texts || key in this.fallback; }

  t(key) { return this.texts[key] ?? this.fallback[key] ?? key; }

  // A {zh, en} name from the site file, in the current language.
  name(names) {
    if (!names) return '';
    if (typeof names === 'string') return names;
    return names[this.lang] ?? names[LANGUAGES[0]] ?? Object.values(names)[0] ?? '';
  }

  // An IFC name written "中文 / English" (the convention of the demo model): the half in the current language.
  // Other names (one language, or slashes of another kind) are shown as they are.
  local(text) {
    if (!text) return '';
    const parts = String(text).split(' / ');
    if (parts.length !== 2 || !CJK.test(parts[0]) || CJK.test(parts[1])) return String(text);
    return this.lang === 'zh' ? parts[0] : parts[1];
  }

  apply(root) {
    for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = this.t(node.dataset.i18n);
    for (const node of root.querySelectorAll('[data-i18n-title]')) node.title = this.t(node.dataset.i18nTitle);
  }
}

async function fetchTexts(lang) {
  const response = await fetch(`/i18n/${lang}.json`);
  if (!response.ok) throw new Error(`/i18n/${lang}.json: HTTP ${response.status}`);
  return response.json();
}
