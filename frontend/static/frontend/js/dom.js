// Elements built from parts, so text from maps, catalogues and the API is
// only ever a text node or a property, never parsed as HTML.

// el("td", { className: "dim", dataset: { stat: "mean" } }, "text", child):
// attributes are set as properties, children are nodes or strings.
export function el(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "dataset") Object.assign(element.dataset, value);
    else if (name === "style") Object.assign(element.style, value);
    else element[name] = value;
  }
  element.append(...children);
  return element;
}
