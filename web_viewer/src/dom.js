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
