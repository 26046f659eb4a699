// qwenlab's compare viewer (an anywidget ES module): 1 to 4 images at full resolution, one zoom
// and pan shared by all (wheel zooms at the cursor, drag pans, double-click resets), and for two
// images a swipe mode: both in one frame, a handle dragged across shows A left of it, B right.
//
// The view is a zoom `z` (1 = the whole image fits its pane) and a pan (tx, ty) in screen pixels
// from the pane's centre, of the reference image (the one with the most pixels for its pane, which
// "1:1" is for); every other image is moved by as much of its own width and height (`panScale`),
// so the pane's centre shows the same spot, relatively, of every image: a portrait beside a
// landscape, panned in screen pixels alike, showed the headline of one beside the middle of the
// other, the portrait being drawn narrower. Each image is scaled to fit its own pane first, so images of different
// sizes stay aligned point for point (and are then shown at different scales: the readout gives
// each one's); "1:1 each" (`own_pixels`) shows them all at one scale instead, each at its own
// pixels. The view and the split are model traits: Python can read and set them, and a reset on
// one side shows on the other. "1:1" stays pinned while other images are shown (the explorer's
// arrow keys): each new image is shown 1:1 too, until the view is zoomed or fitted.
//
// "1:1" is one image pixel per pixel of the screen, the device's own: on a Retina screen
// (devicePixelRatio 2) that is half a CSS pixel, as a designer's "100%" is. The readout's 100% is
// the same device pixel. + and - step along the ladder of qwenlab/html/zoom.js (shared with the
// report's lightbox): scales 2^(k/3), landing on 1:2, 1:1, 2:1 and 4:1 exactly.
//
// Keys, once the viewer has the focus (a click on the picture or a button): + and - zoom at the centre, Shift and an
// arrow pans; the plain arrows and digits are left to the widget around it (the explorer steps,
// judging votes). With `arrows` "pan-zoomed" (blind judging, where an arrow is a verdict), the
// plain arrows pan too while the view is zoomed in: a judge reading small text who presses an
// arrow to look around moves the picture, and casts no verdict by accident. `hint` replaces the
// bar's note on the keys (judging's says which keys judge while zoomed in); a custom message
// {pan: [sx, sy]} pans as Shift and an arrow would (the arrows pressed elsewhere in judging).
//
// The wheel zooms only when asked to, as maps embedded in a page do ("cooperative gestures"): with
// Ctrl or Meta held (a trackpad's pinch arrives as a wheel event with ctrlKey), or once the pointer
// has been pressed on the picture, until it leaves the stage. Otherwise the viewer, most of the
// window tall, would trap the wheel and the notebook could not be scrolled past it: the page
// scrolls, and a note on the pane says how to zoom.

const MIN_ZOOM = 0.5;
const MAX_ZOOM = 64;
const NUDGE_MS = 1200; // how long the "how to zoom" note stays
// dpr(), ladderStep(), percent(), wholePixels(), pixelShift() and rendering(): qwenlab/html/zoom.js, put before
// this module (`CompareWidget._esm`), the one ladder the report's lightbox steps along too

// The originals the kernel sent, per set of images shown: the views of one viewer in a page (the
// same widget shown in two outputs) share its model, and each custom message the kernel sends
// reaches every one of them. Each view asked, so the kernel sent the originals once per view, to
// every view: N views downloaded them N times. The first view to ask for a set asks for all;
// the others (and any view shown later) take that one answer. Keyed by the model's `images`
// array, which every view of a model gets, and which a new set of images replaces.
const ORIGINALS = new WeakMap(); // images -> { generation, answer: [msg, buffers] | null }

function el(tag, cls, parent) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (parent) parent.appendChild(node);
  return node;
}

function render({ model, el: host }) {
  const root = el("div", "qwl-cmp", host);
  const caption = el("div", "qwl-cmp-caption", root);
  const bar = el("div", "qwl-cmp-bar", root);
  const stage = el("div", "qwl-cmp-stage", root);
  const modes = el("span", "qwl-cmp-modes", bar);
  const sideButton = el("button", "qwl-cmp-side", modes);
  sideButton.textContent = "side by side";
  const swipeButton = el("button", "qwl-cmp-swipe", modes);
  swipeButton.textContent = "swipe";
  const fitButton = el("button", "qwl-cmp-fit", bar);
  fitButton.textContent = "fit";
  fitButton.title = "the whole image (or double-click the picture)";
  const actualButton = el("button", "qwl-cmp-actual", bar);
  actualButton.textContent = "1:1";
  actualButton.title = "one image pixel per screen pixel for the image with the most pixels; " +
    "the others are enlarged alike, so none is shown below its own resolution (stays on for the next images)";
  const eachButton = el("button", "qwl-cmp-each", bar);
  eachButton.textContent = "1:1 each";
  eachButton.title = "every image at its own pixels (one image pixel per screen pixel each): " +
    "images of different sizes are then shown at different sizes (the same spot of each stays at the centre)";
  const readout = el("span", "qwl-cmp-readout", bar);
  // said when the originals do not come: a notebook reopened from its saved widget state, without
  // a kernel, has only the previews kept there (compare.py)
  const previewNote = el("span", "qwl-cmp-preview", bar);
  previewNote.title = "The notebook keeps a 768-px preview of each image in its saved widget state; " +
    "the originals come from the kernel: run the cell again to see them at full resolution";
  const hint = el("span", "qwl-cmp-hint", bar);
  const showHint = () => {
    hint.textContent = model.get("hint") || "click, then wheel or + −: zoom · drag or Shift+arrows: pan · double-click: fit";
  };
  showHint();
  hint.title = "Over the picture the wheel scrolls the page, until you click or drag in it (and until the " +
    "pointer leaves it again); with Ctrl held, or a trackpad's pinch, it zooms at once. Once the picture " +
    "has been clicked, + and - zoom at its centre and Shift with an arrow pans";

  let urls = [];
  let full = []; // per image: urls[i] is the original (not the preview the widget state holds)
  let noteTimer = null;
  let sizes = []; // natural [w, h] of each image, once loaded
  let imgs = []; // per pane: the <img> elements in it
  let panes = [];
  let handle = null;
  let saveTimer = null;
  let unsent = null; // the view as set here since the last send
  let engaged = false; // the pointer was pressed on the picture and has not left it: the wheel zooms
  let pinned = null; // "largest" or "each": 1:1 asked for, kept for the images shown next

  const VIEW = ["zoom", "pan_x", "pan_y", "split", "own_pixels"];
  const view = () => ({ z: model.get("zoom"), tx: model.get("pan_x"), ty: model.get("pan_y") });

  function setHere(attrs) {
    // the view as this page sets it: noted before it is set, so `changed` knows it for its own
    unsent = { ...(unsent || {}), ...attrs };
    model.set(attrs);
  }

  function save() {
    // a wheel or drag sends many changes: send the view to the kernel at most every 100 ms
    if (saveTimer) return;
    saveTimer = setTimeout(() => { saveTimer = null; unsent = null; model.save_changes(); }, 100);
  }

  function changed() {
    // The kernel echoes each send back. An echo of an earlier send that lands between a newer
    // move and its send would put the handle (or the view) back where it was a step ago, and
    // the send would then carry that: what was set here and not sent yet wins.
    if (unsent && Object.keys(unsent).some((name) => model.get(name) !== unsent[name])) model.set(unsent);
    const one = actualZoom();
    if (pinned && loaded() && one && Math.abs(model.get("zoom") - one) > 1e-6 * one) unpin(); // zoomed from Python (reset())
    apply();
  }

  function setView(z, tx, ty, own) {
    const z2 = clampZoom(z);
    const [px, py] = clampPan(z2, tx, ty, own === undefined ? model.get("own_pixels") : own);
    setHere({ zoom: z2, pan_x: px, pan_y: py, ...(own === undefined ? {} : { own_pixels: own }) });
    apply();
    save();
  }

  function clampPan(z, tx, ty, own) {
    // The pane's centre stays on the picture: any spot of it can be brought there (where 1:1
    // and the zoom keys keep it), but no drag or key takes the picture out of view. Unbounded,
    // a dozen presses of an arrow at 2:1, looking for a headline, left every pane blank, and
    // the picture had to be found again as many presses back. Every image is panned by the same
    // fraction of itself (`panScale`): the reference's bounds are every image's.
    if (!imgs.length || !imgs.every(({ i }) => sizes[i])) return [tx, ty]; // not loaded yet: nothing to hold it to
    const { i, pane } = reference();
    const s = scaleOf(i, pane, z, own);
    const hw = s * sizes[i][0] / 2;
    const hh = s * sizes[i][1] / 2;
    return [Math.min(hw, Math.max(-hw, tx)), Math.min(hh, Math.max(-hh, ty))];
  }

  function reference() {
    // the image the pan is counted in: the one with the most pixels for its pane (the smallest
    // fit scale, the one "1:1" shows pixel for pixel), the first of equals
    let best = null;
    for (const entry of imgs) {
      if (!sizes[entry.i]) continue;
      if (!best || fitScale(entry.i, entry.pane) < fitScale(best.i, best.pane) - 1e-9) best = entry;
    }
    return best;
  }

  function panScale(i, pane, own = model.get("own_pixels")) {
    // [kx, ky]: image i is moved k times the pan, so that it is moved by the same fraction of its
    // own width and height as the reference: the same spot of each (relatively) stays at the
    // pane's centre whatever their shapes; images of one size (and shape) are moved alike, pixel
    // for pixel. Independent of the zoom: every scale is a fit scale times the zoom.
    const ref = reference();
    if (!ref || !sizes[i]) return [1, 1];
    const s = scaleOf(i, pane, 1, own);
    const r = scaleOf(ref.i, ref.pane, 1, own);
    return [s * sizes[i][0] / (r * sizes[ref.i][0]), s * sizes[i][1] / (r * sizes[ref.i][1])];
  }

  function paneScale(pane) {
    // what a move of the pointer over `pane` is, in the pan's units: its (first) image follows it
    const entry = imgs.find((e) => e.pane === pane);
    return entry ? panScale(entry.i, pane) : [1, 1];
  }

  function unpin() {
    pinned = null;
    actualButton.classList.remove("qwl-on");
  }

  function oneToOne(kind) {
    // 1:1 about the pane's centre: the point there stays there (it was reset to the image's
    // centre, and the spot being read was lost). The largest image is at minFit x z in both
    // modes, so scaling the pan by the zoom's ratio keeps its point; the others follow it.
    const one = actualZoom();
    if (!one) return;
    const { z, tx, ty } = view();
    pinned = kind;
    actualButton.classList.toggle("qwl-on", kind === "largest");
    setView(one, tx * one / z, ty * one / z, kind === "each");
  }

  function loaded() {
    return urls.length > 0 && urls.every((_, i) => sizes[i]);
  }

  function fitScale(i, pane) {
    const [w, h] = sizes[i] || [1, 1];
    return Math.min(pane.clientWidth / w, pane.clientHeight / h);
  }

  function minFit() {
    // the smallest fit scale: that of the image with the most pixels for its pane
    const fits = imgs.filter(({ i }) => sizes[i]).map(({ i, pane }) => fitScale(i, pane)).filter((f) => f > 0);
    return fits.length ? Math.min(...fits) : null;
  }

  function scaleOf(i, pane, z = view().z, own = model.get("own_pixels")) {
    // screen px per image px: fitted to its own pane (aligned point for point), or, with
    // own_pixels, at the scale the largest image is shown at (each at its own pixels at 1:1)
    const base = own ? minFit() : fitScale(i, pane);
    return (base || fitScale(i, pane)) * z;
  }

  function shown() {
    // the loaded images, in pane order, with the scale each is shown at
    return imgs.filter(({ i }) => sizes[i]).map(({ i, pane }) => ({ i, scale: scaleOf(i, pane) }));
  }

  function actualZoom() {
    // 1:1 is for the image with the most pixels (for its pane): the smallest fit scale. The
    // others are then enlarged alike, and none is shown below its own resolution. One image
    // pixel per device pixel: 1 / dpr CSS pixels.
    const fit = minFit();
    return fit ? 1 / (fit * dpr()) : null;
  }

  function stepZoom(up) {
    // the zoom that shows the largest image at the ladder's next scale
    const fit = minFit();
    const { z } = view();
    if (!fit) return z * (up ? 1.25 : 0.8);
    return ladderStep(fit * z * dpr(), up) / (fit * dpr());
  }

  function clampZoom(z) {
    // 1:1 stays within reach: an image smaller than half its pane has it below MIN_ZOOM
    const one = actualZoom() || 1;
    return Math.min(Math.max(MAX_ZOOM, one), Math.max(Math.min(MIN_ZOOM, one), z));
  }

  function showScale() {
    // one figure while the images are shown alike; each one's when their sizes differ, or the
    // readout would say 100% of one while another is at 50%
    const labels = model.get("labels");
    const each = shown().map(({ i, scale }) => ({ name: labels[i] || `image ${i + 1}`, pct: percent(scale * dpr()) }));
    const figures = [...new Set(each.map(({ pct }) => pct))];
    readout.textContent = figures.length > 1 ? each.map(({ pct }) => pct).join(" · ") : figures.join("");
    readout.title = figures.length > 1
      ? `each image's scale (100%: one image pixel per screen pixel):\n${each.map(({ name, pct }) => `${name}: ${pct}`).join("\n")}`
      : "the images' scale (100%: one image pixel per screen pixel)";
  }

  function snapped(s, left, top) {
    // At a whole number of screen pixels per image pixel (1:1, 2:1; `s` in CSS pixels), the shift
    // that puts the image's corner (`left`, `top` in its pane) on a pixel of the screen: zoom.js's
    // pixelShift, which the report's lightbox uses too. Half a pixel off (the pane's centre,
    // whenever its width or height is odd), the picture was resampled. The pane's own box is
    // drawn on whole pixels by the browser: its corner is the origin.
    return pixelShift(s * dpr(), left, top);
  }

  function apply() {
    const { z, tx, ty } = view();
    // zoomed in, the user reads what the labels lie over (a poster's headline): every pane's label
    // fades, not only the one under the pointer
    stage.classList.toggle("qwl-cmp-zoomed", z > 1.01);
    imgs.forEach(({ img, i, pane }) => {
      const [w, h] = sizes[i] || [0, 0];
      const s = scaleOf(i, pane);
      const [kx, ky] = panScale(i, pane);
      const [px, py] = [tx * kx, ty * ky]; // this image's share of the pan: the same spot of each
      const [dx, dy] = snapped(s, pane.clientWidth / 2 + px - s * w / 2, pane.clientHeight / 2 + py - s * h / 2);
      img.style.transform = `translate(${pane.clientWidth / 2 + px + dx}px, ${pane.clientHeight / 2 + py + dy}px) ` +
        `scale(${s}) translate(${-w / 2}px, ${-h / 2}px)`;
      // at 2:1, 3:1... each image pixel is a square of whole device pixels (zoom.js's rendering)
      img.style.imageRendering = rendering(s * dpr());
    });
    // "1:1 each" only means something when the images are shown at different scales when fitted
    const fits = imgs.filter(({ i }) => sizes[i]).map(({ i, pane }) => fitScale(i, pane).toPrecision(6));
    eachButton.style.display = new Set(fits).size > 1 || model.get("own_pixels") ? "" : "none";
    // "1:1 each" is a way of showing them (one scale for all), on until "fit" or "1:1": it says so
    eachButton.classList.toggle("qwl-on", !!model.get("own_pixels"));
    if (handle) {
      const split = model.get("split");
      handle.style.left = `${split * 100}%`;
      const top = stage.querySelector(".qwl-cmp-layer-b");
      if (top) top.style.clipPath = `inset(0 0 0 ${split * 100}%)`;
    }
    showScale();
  }

  function zoomAt(pane, clientX, clientY, factor, to) {
    // by `factor` (the wheel), or `to` a zoom (the ladder's + and -)
    const { z, tx, ty } = view();
    const box = pane.getBoundingClientRect();
    const [kx, ky] = paneScale(pane);
    // the cursor's offset from the pane's centre, in the pan's units (the reference image's)
    const dx = (clientX - box.left - box.width / 2) / kx;
    const dy = (clientY - box.top - box.height / 2) / ky;
    const z2 = clampZoom(to === undefined ? z * factor : to);
    unpin();
    // keep the image point under the cursor where it is
    setView(z2, dx - (dx - tx) * (z2 / z), dy - (dy - ty) * (z2 / z));
  }

  function wheelZoom(factor) {
    // The wheel zooms smoothly, but stops on 1:2, 1:1, 2:1 and 4:1 as it passes one or comes
    // within 3% of it (the next turn moves on): a notch from 81% went to 99%, the picture
    // resampled there, and no turn of the wheel reached 1:1 itself.
    const { z } = view();
    const fit = minFit();
    if (!fit) return z * factor;
    const d = dpr();
    const from = fit * z * d;
    const to = from * factor;
    const near = (s, r) => Math.abs(s - r) < 0.03 * r;
    const rung = [0.5, 1, 2, 4].find((r) => (from - r) * (to - r) < 0 || (near(to, r) && !near(from, r)));
    return (rung || to) / (fit * d);
  }

  function zoomedIn() {
    // more of the picture than the pane shows: what the arrows pan in "pan-zoomed"
    return view().z > 1.01;
  }

  function panBy(sx, sy) {
    // a step of 15% of the pane: sx, sy are -1, 0 or 1 (1: the picture moves right, or down)
    const pane = panes[0];
    if (!pane) return;
    const { z, tx, ty } = view();
    setView(z, tx + sx * pane.clientWidth * 0.15, ty + sy * pane.clientHeight * 0.15);
  }

  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return; // the browser's own zoom and shortcuts
    const pane = panes[0];
    if (!pane) return;
    const box = pane.getBoundingClientRect();
    const centre = [box.left + box.width / 2, box.top + box.height / 2];
    const steps = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    if (ev.key === "+" || ev.key === "=") zoomAt(pane, ...centre, 1, stepZoom(true));
    else if (ev.key === "-" || ev.key === "_") zoomAt(pane, ...centre, 1, stepZoom(false));
    else if (steps[ev.key] && (ev.shiftKey || (model.get("arrows") === "pan-zoomed" && zoomedIn()))) panBy(...steps[ev.key]);
    else return; // plain arrows, digits: the explorer's or the judging's
    ev.preventDefault();
    ev.stopPropagation();
  }

  function nudge(pane) {
    // the wheel scrolled the page: say how to zoom, once for a whole scroll (many wheel events)
    const note = pane.querySelector(".qwl-cmp-nudge");
    if (!note || note.classList.contains("qwl-cmp-shown")) return;
    note.classList.add("qwl-cmp-shown");
    setTimeout(() => note.classList.remove("qwl-cmp-shown"), NUDGE_MS);
  }

  function listen(pane) {
    el("div", "qwl-cmp-nudge", pane).textContent = "Ctrl + wheel to zoom, or click the picture first";
    pane.addEventListener("wheel", (ev) => {
      if (!(engaged || ev.ctrlKey || ev.metaKey)) { nudge(pane); return; } // not prevented: the page scrolls
      ev.preventDefault();
      zoomAt(pane, ev.clientX, ev.clientY, 1, wheelZoom(Math.exp(-ev.deltaY * 0.002)));
    }, { passive: false });
    pane.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      pane.setPointerCapture(ev.pointerId);
      let last = [ev.clientX, ev.clientY];
      const move = (e) => {
        const { z, tx, ty } = view();
        const [kx, ky] = paneScale(pane); // the image under the pointer follows it
        setView(z, tx + (e.clientX - last[0]) / kx, ty + (e.clientY - last[1]) / ky);
        last = [e.clientX, e.clientY];
      };
      const up = () => {
        pane.removeEventListener("pointermove", move);
        pane.removeEventListener("pointerup", up);
        pane.removeEventListener("pointercancel", up);
      };
      pane.addEventListener("pointermove", move);
      pane.addEventListener("pointerup", up);
      pane.addEventListener("pointercancel", up);
    });
    pane.addEventListener("dblclick", () => { unpin(); setView(1, 0, 0, false); });
  }

  function label(pane, text, cls) {
    const tag = el("div", `qwl-cmp-label ${cls || ""}`, pane);
    tag.textContent = text;
  }

  function addImage(pane, i, layerClass) {
    const layer = el("div", `qwl-cmp-layer ${layerClass || ""}`, pane);
    const img = el("img", "qwl-cmp-img", layer);
    img.draggable = false;
    img.alt = model.get("labels")[i] || `image ${i + 1}`;
    img.addEventListener("load", () => {
      sizes[i] = [img.naturalWidth, img.naturalHeight];
      // the original is shown (what a test of the file's own pixels waits for), not a preview
      if (full[i] && img.src === urls[i]) img.dataset.full = "1";
      if (pinned && loaded()) {
        // 1:1 asked for before: these images are shown 1:1 too, where the last ones were read
        const one = actualZoom();
        if (one) setView(one, model.get("pan_x"), model.get("pan_y"), pinned === "each");
      }
      apply();
    });
    img.src = urls[i];
    imgs.push({ img, i, pane });
  }

  function build() {
    const n = urls.length;
    const labels = model.get("labels");
    const swipe = n === 2 && model.get("mode") === "swipe";
    stage.replaceChildren();
    imgs = []; panes = []; handle = null;
    stage.className = `qwl-cmp-stage qwl-cmp-n${n}${swipe ? " qwl-cmp-swiping" : ""}`;
    const height = model.get("height");
    stage.style.setProperty("--qwl-cmp-h", height > 0 ? `${height}px` : "min(78vh, 1100px)");
    modes.style.display = n === 2 ? "" : "none";
    sideButton.classList.toggle("qwl-on", !swipe);
    swipeButton.classList.toggle("qwl-on", swipe);
    if (swipe) {
      const pane = el("div", "qwl-cmp-pane", stage);
      panes.push(pane);
      addImage(pane, 0, "qwl-cmp-layer-a");
      addImage(pane, 1, "qwl-cmp-layer-b");
      label(pane, labels[0] || "A", "qwl-cmp-left");
      label(pane, labels[1] || "B", "qwl-cmp-right");
      handle = el("div", "qwl-cmp-handle", pane);
      el("div", "qwl-cmp-knob", handle).textContent = "◀▶";
      handle.addEventListener("pointerdown", (ev) => {
        ev.stopPropagation(); // dragging the handle is not a pan
        handle.setPointerCapture(ev.pointerId);
        const move = (e) => {
          const box = pane.getBoundingClientRect();
          setHere({ split: Math.min(1, Math.max(0, (e.clientX - box.left) / box.width)) });
          apply();
          save();
        };
        const up = () => handle.removeEventListener("pointermove", move);
        handle.addEventListener("pointermove", move);
        handle.addEventListener("pointerup", up, { once: true });
      });
      handle.addEventListener("dblclick", (ev) => ev.stopPropagation());
      listen(pane);
    } else {
      for (let i = 0; i < n; i++) {
        const pane = el("div", "qwl-cmp-pane", stage);
        panes.push(pane);
        addImage(pane, i);
        label(pane, labels[i] || `image ${i + 1}`);
        listen(pane);
      }
    }
    apply();
  }

  function loadImages() {
    urls.forEach((u) => URL.revokeObjectURL(u));
    const mimes = model.get("mimes");
    const previewed = model.get("previewed") || [];
    // the file's own bytes (JPEG, PNG, WebP) arrive as binary buffers: no base64, no re-encoding;
    // for a larger image, its preview, until the original comes (`askFull`)
    urls = model.get("images").map((buf, i) => URL.createObjectURL(new Blob([buf], { type: mimes[i] || "image/jpeg" })));
    full = urls.map((_, i) => !previewed[i]);
    sizes = [];
    build();
    askFull();
  }

  function showPreviewNote() {
    previewNote.textContent = full.every(Boolean) ? "" : "previews: run the cell for full size";
  }

  function askFull() {
    // The originals of the images previewed are sent by the kernel in a message, which no saved
    // widget state keeps (compare.py): asked for once by the views of this viewer in the page
    // (`ORIGINALS`); a view that comes after the answer takes it as it is
    clearTimeout(noteTimer);
    previewNote.textContent = "";
    if (full.every(Boolean)) return;
    const generation = model.get("generation");
    const shared = ORIGINALS.get(model.get("images"));
    if (shared && shared.generation === generation) {
      if (shared.answer) gotFull(...shared.answer);
      else noteTimer = setTimeout(showPreviewNote, 2000); // asked by another view: its answer comes here too
      return;
    }
    noteTimer = setTimeout(showPreviewNote, 2000); // live, they come at once: said only if they do not
    try {
      model.send({ want: "full", generation });
      ORIGINALS.set(model.get("images"), { generation, answer: null });
    } catch (err) {
      showPreviewNote(); // no kernel to ask: the previews stay, and say so
    }
  }

  function gotFull(msg, buffers) {
    // the originals, for the images shown now (not those of an earlier step of the explorer)
    if (msg.full !== model.get("generation") || !Array.isArray(msg.index)) return;
    const shared = ORIGINALS.get(model.get("images"));
    if (shared && shared.generation === msg.full) shared.answer = [msg, buffers]; // for the views shown later
    msg.index.forEach((i, k) => {
      if (i >= urls.length || full[i] || !buffers || !buffers[k]) return;
      URL.revokeObjectURL(urls[i]);
      urls[i] = URL.createObjectURL(new Blob([buffers[k]], { type: (msg.mimes || [])[k] || "image/jpeg" }));
      full[i] = true;
      // the same element: its load sets the original's size, and the view (relative to the fit) stays
      for (const entry of imgs) if (entry.i === i) entry.img.src = urls[i];
    });
    showPreviewNote();
  }

  sideButton.addEventListener("click", () => { model.set("mode", "side"); model.save_changes(); });
  swipeButton.addEventListener("click", () => { model.set("mode", "swipe"); model.save_changes(); });
  fitButton.addEventListener("click", () => { unpin(); setView(1, 0, 0, false); });
  actualButton.addEventListener("click", () => oneToOne("largest"));
  eachButton.addEventListener("click", () => oneToOne("each"));
  // a click on the picture (or a button of the viewer) gives it the keys: + - zoom, Shift+arrows pan
  stage.tabIndex = 0;
  root.addEventListener("keydown", onKey);
  // a press anywhere on the picture engages the wheel (in the capture phase: the swipe handle
  // stops its pointerdown), until the pointer leaves the stage (the gap between panes is in it)
  stage.addEventListener("pointerdown", () => { engaged = true; }, true);
  stage.addEventListener("pointerleave", () => { engaged = false; });

  const showCaption = () => { caption.innerHTML = model.get("caption"); }; // HTML made (and escaped) by qwenlab
  model.on("change:images", loadImages);
  model.on("change:labels", build);
  model.on("change:mode", build);
  model.on("change:height", build);
  model.on("change:caption", showCaption);
  model.on("change:hint", showHint);
  model.on("msg:custom", (msg, buffers) => {
    if (msg && Array.isArray(msg.pan)) panBy(...msg.pan);
    else if (msg && msg.full !== undefined) gotFull(msg, buffers);
  });
  // asked from Python when an image is picked below (a tile of the explorer): bring the viewer on
  // screen, or it opened far above what the user was looking at
  const reveal = () => { if (model.get("reveal") > 0) host.scrollIntoView({ block: "nearest" }); };
  model.on("change:reveal", reveal);
  requestAnimationFrame(reveal);
  for (const name of VIEW) model.on(`change:${name}`, changed);
  const keepPinned = () => {
    // a pane resized changes what fits it, and a new pixel ratio what a device pixel is (the
    // window moved to another screen, the browser's zoom): either changes the zoom that is 1:1,
    // and a pinned 1:1 stays 1:1
    const one = actualZoom();
    const { z, tx, ty } = view();
    if (pinned && loaded() && one && Math.abs(z - one) > 1e-6 * one) setView(one, tx * one / z, ty * one / z);
    else apply();
  };
  const resized = new ResizeObserver(keepPinned);
  resized.observe(stage);
  let ratio = null;
  const ratioChanged = () => { keepPinned(); watchRatio(); };
  const watchRatio = () => {
    ratio = window.matchMedia(`(resolution: ${dpr()}dppx)`);
    ratio.addEventListener("change", ratioChanged, { once: true });
  };
  watchRatio();
  showCaption();
  loadImages();
  return () => {
    resized.disconnect();
    ratio.removeEventListener("change", ratioChanged);
    clearTimeout(noteTimer);
    urls.forEach((u) => URL.revokeObjectURL(u));
  };
}

export default { render };
