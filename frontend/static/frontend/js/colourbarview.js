// The colour bar on the map: the current colour map under the current
// range and stretch, with round tick values (colourbar.js) and the layer's
// units. The bar is uniform along the colour map, as in DS9 and CARTA: a
// stretch moves the ticks, not the colours.

import { barIndex, colourTicks, describeScale } from "./colourbar.js";
import { lutColour, withHisteq } from "./stretch.js";

// About this many ticks along the bar (fewer where a stretch crowds them).
const TICK_COUNT = 5;

export class ColourBarView {
  // `root` holds a canvas, .colour-bar-ticks, .colour-bar-units and
  // .colour-bar-scale; `panel` is the ColourPanel whose state it shows.
  constructor(root, panel) {
    this.root = root;
    this.panel = panel;
    this.canvas = root.querySelector("canvas");
    this.tickRow = root.querySelector(".colour-bar-ticks");
    this.unitsLabel = root.querySelector(".colour-bar-units");
    this.scaleLabel = root.querySelector(".colour-bar-scale");
    panel.addEventListener("change", () => this.draw());
  }

  // Redraws from the panel's state; hidden until a layer and its colour map are known.
  draw() {
    const { colours, layer, histogram } = this.panel;
    this.root.hidden = !(colours && layer);
    if (this.root.hidden) return;
    const colour = withHisteq(this.panel.getColour(), histogram);
    this.paint(colours);
    const ticks = colourTicks(colour, TICK_COUNT);
    this.tickRow.replaceChildren(
      ...ticks.map((tick) => {
        const element = document.createElement("span");
        element.className = "colour-bar-tick";
        element.style.left = `${tick.position * 100}%`;
        element.dataset.value = String(tick.value);
        element.textContent = tick.label;
        return element;
      }),
    );
    const units = layer.units || "";
    this.unitsLabel.textContent = units;
    this.scaleLabel.textContent = describeScale(colour);
    const range = ticks.length ? `${ticks[0].label} to ${ticks[ticks.length - 1].label}` : "";
    this.root.setAttribute("aria-label", `Colour bar, ${colour.cmap}: ${range} ${units}`.trim());
  }

  // One device pixel column per LUT position: column j shows the colour the
  // map gives a value stretched to the middle of the column.
  paint(colours) {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
    this.canvas.width = width;
    this.canvas.height = 1;
    const context = this.canvas.getContext("2d");
    const image = context.createImageData(width, 1);
    for (let j = 0; j < width; j += 1) {
      const [r, g, b] = lutColour(colours, barIndex((j + 0.5) / width));
      image.data.set([r, g, b, 255], 4 * j);
    }
    context.putImageData(image, 0, 0);
  }
}
