// Finding a destination on the visitor page: the search box (Chinese, English, pinyin or its initials, a window
// number, a room: the server's /api/destinations does the matching), the service catalogue by category, and
// quick links to what visitors ask for most (toilets, the mother-and-baby room, self-service, the exits).
import { el } from './dom.js';
import { api, reasonOf } from './visitor_api.js';
import { fill, windowsText } from './visitor_format.js';

const QUICK_KINDS = ['toilet', 'mother_baby', 'self_service', 'guidance', 'convenience', 'exit'];
const DEBOUNCE_MS = 180;
const RESULT_LIMIT = 30;

export class SearchPanel {
  // parts: {input, clear, results, homeBody, quick, categories, categoryList}; near(): the visitor's start id;
  // onPick(destination): a destination was chosen.
  constructor(i18n, parts, near, onPick) {
    this.i18n = i18n;
    this.parts = parts;
    this.near = near;
    this.onPick = onPick;
    this.all = null; // every destination of the hall (null: not loaded yet)
    this.services = [];
    this.categories = [];
    this.kinds = new Set();
    this.category = null;
    this.query = '';
    this.lastResults = [];
    this.searching = null; // the pending query (tests wait for it to settle)
    this.error = null;
    let timer = null;
    parts.input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.search(parts.input.value), DEBOUNCE_MS);
    });
    parts.input.form?.addEventListener('submit', (event) => {
      event.preventDefault();
      clearTimeout(timer);
      this.search(parts.input.value).then(() => { if (this.lastResults.length) this.onPick(this.lastResults[0]); });
    });
    parts.clear.addEventListener('click', () => { this.reset(); parts.input.focus(); });
  }

  t(key) { return this.i18n.t(key); }

  // The catalogue (services and their categories) and which kinds of place this hall has.
  async load() {
    const answer = await api.destinations('', { limit: 500 });
    if (!answer.ok) { this.error = reasonOf(answer); this.render(); return false; }
    this.error = null;
    this.all = answer.body.results;
    this.categories = answer.body.categories ?? [];
    this.services = answer.body.results.filter((d) => d.kind === 'service');
    this.kinds = new Set(answer.body.results.map((d) => d.kind));
    this.render();
    return true;
  }

  reset() {
    this.parts.input.value = '';
    this.query = '';
    this.lastResults = [];
    this.category = null;
    this.render();
  }

  async search(text) {
    const q = text.trim();
    this.query = q;
    if (!q) { this.lastResults = []; this.render(); return; }
    this.searching = q;
    const answer = await api.destinations(q, { limit: RESULT_LIMIT, near: this.near() });
    if (this.query !== q) return; // a newer query was typed meanwhile
    this.searching = null;
    this.error = answer.ok ? null : reasonOf(answer);
    this.lastResults = answer.ok ? answer.body.results : [];
    this.render();
  }

  kindLabel(kind) {
    const key = `visitor.kind.${kind}`;
    return this.i18n.has(key) ? this.t(key) : kind;
  }

  // One destination as a large button: its name, then what and where (floor, windows).
  item(destination) {
    const where = [this.kindLabel(destination.kind), destination.storey_name,
      windowsText((k) => this.t(k), destination.kind === 'window' ? [] : destination.windows)].filter(Boolean);
    const button = el('button', { type: 'button', class: 'result', 'data-destination': destination.id,
      'data-kind': destination.kind },
    el('span', { class: 'result-name' }, this.i18n.name(destination.name)),
    el('span', { class: 'result-where' }, where.join(' · ')));
    button.addEventListener('click', () => this.onPick(destination));
    return button;
  }

  async quick(kind) {
    const answer = await api.destinations('', { kind, near: this.near(), limit: 1 });
    if (answer.ok && answer.body.results.length) this.onPick(answer.body.results[0]);
    else { this.error = reasonOf(answer); this.render(); }
  }

  render() {
    const { results, homeBody, quick, categories, categoryList, clear } = this.parts;
    const searching = this.query !== '';
    results.hidden = !searching && !this.error;
    homeBody.hidden = searching;
    clear.hidden = !searching;
    if (this.error) {
      results.replaceChildren(el('p', { class: 'notice error', 'data-testid': 'search-error' }, this.error));
    } else if (searching) {
      const found = this.lastResults;
      results.replaceChildren(
        el('p', { class: 'count' }, found.length ? fill(this.t('visitor.results'), { n: found.length })
          : fill(this.t('visitor.no_results'), { q: this.query })),
        el('div', { class: 'result-list' }, ...found.map((d) => this.item(d))));
    }
    quick.replaceChildren(...QUICK_KINDS.filter((kind) => this.kinds.has(kind)).map((kind) => {
      const button = el('button', { type: 'button', class: `quick-link kind-${kind}`, 'data-quick': kind },
        this.kindLabel(kind));
      button.addEventListener('click', () => this.quick(kind));
      return button;
    }));
    categories.replaceChildren(...this.categories.filter((c) => this.services.some((s) => s.category === c.id))
      .map((category) => {
        const chip = el('button', { type: 'button', class: 'category', 'data-category': category.id,
          'aria-pressed': String(category.id === this.category) }, this.i18n.name(category.name));
        chip.addEventListener('click', () => {
          this.category = this.category === category.id ? null : category.id;
          this.render();
          if (this.category) categoryList.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
        });
        return chip;
      }));
    const inCategory = this.services.filter((s) => s.category === this.category);
    categoryList.hidden = !inCategory.length;
    categoryList.replaceChildren(...inCategory.map((d) => this.item(d)));
  }
}
