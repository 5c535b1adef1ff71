// Keeps a top bar on one row: controls that do not fit move, least-used first, into a "more" menu at its end.
//
// Which controls may move, and in which order, is said in the page: data-fold="1" moves first, "2" next...
// (controls without it always stay). The fit is measured, not guessed from breakpoints, because the bar's width
// depends on the language, the hall's name, the pages a role may open and the live status text: after any change
// of the bar's or its controls' size everything is put back and moved out again one by one until nothing
// overflows. A moved control is the same element (its id, listeners and state go with it), shown in the menu in
// bar order. window.hallTwin.barFit exposes folded() for tests.
const OPEN_CLASS = 'open';

export class BarFit {
  // bar: the header; more: the menu's wrapper (a button.bar-more-button and a .bar-more-panel inside)
  constructor(bar, more) {
    this.bar = bar;
    this.more = more;
    this.button = more.querySelector('.bar-more-button');
    this.panel = more.querySelector('.bar-more-panel');
    this.moved = []; // {node, placeholder, order}
    this.queued = false;
    this.stale = false; // a change came while the menu was open: fit once it closes
    bar.classList.add('bar-fit');
    this.button.addEventListener('click', (event) => { event.stopPropagation(); this.setOpen(this.panel.hidden); });
    document.addEventListener('pointerdown', (event) => { if (!this.more.contains(event.target)) this.setOpen(false); });
    document.addEventListener('keydown', (event) => { if (event.key === 'Escape') this.setOpen(false); });
    this.sizes = new ResizeObserver(() => this.soon());
    this.sizes.observe(bar);
    const watchChildren = () => { for (const child of bar.children) this.sizes.observe(child); };
    watchChildren();
    // Controls added later (the heatmap's select) and text that changes (status, language) are watched too; the
    // menu opening and closing is not a change of the bar.
    this.mutations = new MutationObserver((records) => {
      if (records.every((record) => record.target === this.panel && record.type === 'attributes')) return;
      watchChildren();
      this.soon();
    });
    this.mutations.observe(bar, {
      childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['hidden'],
    });
    this.fit();
  }

  setOpen(open) {
    if (open === !this.panel.hidden) return;
    this.panel.hidden = !open;
    this.button.setAttribute('aria-expanded', String(open));
    this.more.classList.toggle(OPEN_CLASS, open);
    if (!open && this.stale) this.soon();
  }

  // One fit per frame at most: a burst of changes (a language switch) is measured once.
  soon() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => { this.queued = false; this.fit(); });
  }

  overflows() { return this.bar.scrollWidth > this.bar.clientWidth + 0.5; }

  fit() {
    // Never pull a control from under the user's hand (a select's list open in the menu): later.
    if (!this.panel.hidden) { this.stale = true; return; }
    this.stale = false;
    for (const { node, placeholder } of this.moved) placeholder.replaceWith(node);
    this.moved = [];
    this.more.hidden = true;
    if (this.overflows()) {
      this.more.hidden = false;
      const candidates = [...this.bar.querySelectorAll(':scope > [data-fold]')]
        .filter((node) => !node.hidden)
        .sort((a, b) => Number(a.dataset.fold) - Number(b.dataset.fold));
      const orders = new Map([...this.bar.children].map((node, index) => [node, index]));
      for (const node of candidates) {
        const placeholder = document.createComment('folded');
        node.replaceWith(placeholder);
        this.moved.push({ node, placeholder, order: orders.get(node) });
        if (!this.overflows()) break;
      }
      // In the menu in bar order, so it reads like the bar it stands for.
      this.panel.replaceChildren(...[...this.moved].sort((a, b) => a.order - b.order).map((item) => item.node));
    }
    // The records of the moves just made are not changes to fit again.
    this.mutations?.takeRecords();
  }

  // The controls now in the menu (their data-testid or class), for tests.
  folded() { return this.moved.map(({ node }) => node.dataset.testid ?? node.className); }
}
