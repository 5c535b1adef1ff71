// Texts of the viewer in Chinese (first, the default) and English, loaded from /i18n/<lang>.json.
import { roomZh, storeyZh } from './ifc_names.js';

export const LANGUAGES = ['zh', 'en'];
const STORAGE_KEY = 'halltwin.lang';
const CJK = /[\u3400-\u9fff]/;
// " / " between spaces, or the full-width "／" with or without them ("AHU-1/2 空调" is one name, not two)
const BILINGUAL_SLASH = /\s+\/\s+|\s*\uff0f\s*/;

export class I18n {
  // bundles: extra text files of a page, /i18n/<bundle>.<lang>.json, merged over the shared /i18n/<lang>.json
  constructor(bundles = []) {
    this.bundles = bundles;
    this.lang = LANGUAGES[0];
    this.texts = {};
    this.fallback = {};
    this.listeners = [];
  }

  async load(lang) {
    const wanted = LANGUAGES.includes(lang) ? lang : LANGUAGES[0];
    const [texts, fallback] = await Promise.all([
      fetchBundles(wanted, this.bundles), fetchBundles(LANGUAGES[0], this.bundles),
    ]);
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

  // An IFC name written "中文 / English" (the convention of the demo model; also "English / 中文" or with a
  // full-width slash): the half in the current language. Other names (one language, or slashes of
  // another kind, "A/B Office") are shown as they are.
  local(text) {
    if (!text) return '';
    const whole = String(text).trim();
    const parts = whole.split(BILINGUAL_SLASH);
    if (parts.length !== 2 || !parts[0] || !parts[1]) return whole;
    const chinese = parts.findIndex((part) => CJK.test(part));
    if (chinese === -1 || CJK.test(parts[1 - chinese])) return whole;
    return this.lang === 'zh' ? parts[chinese] : parts[1 - chinese];
  }

  // A room's or storey's IFC name as the page shows it: local(), and on the Chinese page the Chinese rendering of a
  // common English name (ifc_names.js). {text, ifc}: ifc is the IFC name when text is a rendering of it (shown
  // as a second line, so nothing is lost), else null.
  ifcName(text, kind = 'room') {
    const shown = this.local(text);
    const zh = this.lang === 'zh' && shown ? (kind === 'storey' ? storeyZh : roomZh)(shown) : null;
    return zh ? { text: zh, ifc: shown } : { text: shown, ifc: null };
  }

  // The one-line form of ifcName(): "1层 · Level 1" (a <select> option, a caption).
  ifcLine(text, kind = 'room') {
    const { text: shown, ifc } = this.ifcName(text, kind);
    return ifc ? `${shown} · ${ifc}` : shown;
  }

  apply(root) {
    for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = this.t(node.dataset.i18n);
    for (const node of root.querySelectorAll('[data-i18n-title]')) node.title = this.t(node.dataset.i18nTitle);
    for (const node of root.querySelectorAll('[data-i18n-placeholder]')) node.placeholder = this.t(node.dataset.i18nPlaceholder);
  }
}

async function fetchTexts(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

async function fetchBundles(lang, bundles) {
  const parts = await Promise.all([`/i18n/${lang}.json`, ...bundles.map((b) => `/i18n/${b}.${lang}.json`)].map(fetchTexts));
  return Object.assign({}, ...parts);
}
