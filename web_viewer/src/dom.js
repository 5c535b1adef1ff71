// A small DOM helper for the pages that do not load three.js (login) as well as those that do.

// <tag attributes...>children</tag>; children are nodes or text.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// Show ``nodes`` as the children of ``container``, in this order, touching the DOM only when that changes: a list
// redrawn at every live change keeps its elements (and a click in progress on one of them) when nothing moved.
export function showInOrder(container, nodes) {
  const shown = container.children;
  if (nodes.length === shown.length && nodes.every((node, i) => node === shown[i])) return;
  container.replaceChildren(...nodes);
}

// The rows of a live list, kept across redraws: an item's row is rebuilt only when its key (everything the row
// shows) changed, and the rows of items no longer listed are forgotten. Used with showInOrder.
export class KeptRows {
  // idOf(item) names an item; keyOf(item) says what its row shows; build(item) makes the row.
  constructor({ idOf, keyOf, build }) {
    Object.assign(this, { idOf, keyOf, build });
    this.kept = new Map(); // item id -> {key, row}
  }

  rows(items) {
    const listed = new Set();
    const rows = items.map((item) => {
      const id = this.idOf(item);
      const key = this.keyOf(item);
      listed.add(id);
      const kept = this.kept.get(id);
      if (kept?.key === key) return kept.row;
      const row = this.build(item);
      this.kept.set(id, { key, row });
      return row;
    });
    for (const id of [...this.kept.keys()]) if (!listed.has(id)) this.kept.delete(id);
    return rows;
  }
}
