// qwenlab's compare viewer (an anywidget ES module): 1 to 4 images at full resolution, one zoom
// and pan shared by all (wheel zooms at the cursor, drag pans, double-click resets), and for two
// images a swipe mode: both in one frame, a handle dragged across shows A left of it, B right.
//
// The view is a zoom `z` (1 = the whole image fits its pane) and a pan (tx, ty) in screen pixels
// from the pane's centre. Each image is scaled to fit its own pane first, so images of different
// sizes stay aligned point for point (and are then shown at different scales: the readout gives
// each one's). The view and the split are model traits: Python can read and set them, and a reset
// on one side shows on the other.
//
// The wheel zooms only when asked to, as maps embedded in a page do ("cooperative gestures"): with
// Ctrl or Meta held (a trackpad's pinch arrives as a wheel event with ctrlKey), or once the pointer
// has been pressed on the picture, until it leaves the stage. Otherwise the viewer, most of the
// window tall, would trap the wheel and the notebook could not be scrolled past it: the page
// scrolls, and a note on the pane says how to zoom.

const MIN_ZOOM = 0.5;
const MAX_ZOOM = 64;
const NUDGE_MS = 1200; // how long the "how to zoom" note stays

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
    "the others are enlarged alike, so none is shown below its own resolution";
  const readout = el("span", "qwl-cmp-readout", bar);
  const hint = el("span", "qwl-cmp-hint", bar);
  hint.textContent = "click, then wheel: zoom · drag: pan · double-click: fit";
  hint.title = "Over the picture the wheel scrolls the page, until you click or drag in it (and until the " +
    "pointer leaves it again); with Ctrl held, or a trackpad's pinch, it zooms at once";

  let urls = [];
  let sizes = []; // natural [w, h] of each image, once loaded
  let imgs = []; // per pane: the <img> elements in it
  let panes = [];
  let handle = null;
  let saveTimer = null;
  let unsent = null; // the view as set here since the last send
  let engaged = false; // the pointer was pressed on the picture and has not left it: the wheel zooms

  const VIEW = ["zoom", "pan_x", "pan_y", "split"];
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
    apply();
  }

  function setView(z, tx, ty) {
    setHere({ zoom: clampZoom(z), pan_x: tx, pan_y: ty });
    apply();
    save();
  }

  function fitScale(i, pane) {
    const [w, h] = sizes[i] || [1, 1];
    return Math.min(pane.clientWidth / w, pane.clientHeight / h);
  }

  function shown() {
    // the loaded images, in pane order, with the scale each is shown at (screen px per image px)
    const { z } = view();
    return imgs.filter(({ i }) => sizes[i]).map(({ i, pane }) => {
      const fit = fitScale(i, pane);
      return { i, fit, scale: fit * z };
    });
  }

  function actualZoom() {
    // 1:1 is for the image with the most pixels (for its pane): the smallest fit scale. The
    // others are then enlarged alike, and none is shown below its own resolution.
    const fits = shown().map(({ fit }) => fit).filter((f) => f > 0);
    return fits.length ? 1 / Math.min(...fits) : null;
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
    const each = shown().map(({ i, scale }) => ({ name: labels[i] || `image ${i + 1}`, pct: `${Math.round(scale * 100)}%` }));
    const figures = [...new Set(each.map(({ pct }) => pct))];
    readout.textContent = figures.length > 1 ? each.map(({ pct }) => pct).join(" · ") : figures.join("");
    readout.title = figures.length > 1
      ? `each image's scale (100%: one image pixel per screen pixel):\n${each.map(({ name, pct }) => `${name}: ${pct}`).join("\n")}`
      : "the images' scale (100%: one image pixel per screen pixel)";
  }

  function apply() {
    const { z, tx, ty } = view();
    imgs.forEach(({ img, i, pane }) => {
      const [w, h] = sizes[i] || [0, 0];
      const s = fitScale(i, pane) * z;
      img.style.transform = `translate(${pane.clientWidth / 2 + tx}px, ${pane.clientHeight / 2 + ty}px) ` +
        `scale(${s}) translate(${-w / 2}px, ${-h / 2}px)`;
    });
    if (handle) {
      const split = model.get("split");
      handle.style.left = `${split * 100}%`;
      const top = stage.querySelector(".qwl-cmp-layer-b");
      if (top) top.style.clipPath = `inset(0 0 0 ${split * 100}%)`;
    }
    showScale();
  }

  function zoomAt(pane, clientX, clientY, factor) {
    const { z, tx, ty } = view();
    const box = pane.getBoundingClientRect();
    const dx = clientX - box.left - box.width / 2;
    const dy = clientY - box.top - box.height / 2;
    const z2 = clampZoom(z * factor);
    // keep the image point under the cursor where it is
    setView(z2, dx - (dx - tx) * (z2 / z), dy - (dy - ty) * (z2 / z));
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
      zoomAt(pane, ev.clientX, ev.clientY, Math.exp(-ev.deltaY * 0.002));
    }, { passive: false });
    pane.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      pane.setPointerCapture(ev.pointerId);
      let last = [ev.clientX, ev.clientY];
      const move = (e) => {
        const { z, tx, ty } = view();
        setView(z, tx + e.clientX - last[0], ty + e.clientY - last[1]);
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
    pane.addEventListener("dblclick", () => setView(1, 0, 0));
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
    img.addEventListener("load", () => { sizes[i] = [img.naturalWidth, img.naturalHeight]; apply(); });
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
    // the file's own bytes (JPEG, PNG, WebP) arrive as binary buffers: no base64, no re-encoding
    urls = model.get("images").map((buf, i) => URL.createObjectURL(new Blob([buf], { type: mimes[i] || "image/jpeg" })));
    sizes = [];
    build();
  }

  sideButton.addEventListener("click", () => { model.set("mode", "side"); model.save_changes(); });
  swipeButton.addEventListener("click", () => { model.set("mode", "swipe"); model.save_changes(); });
  fitButton.addEventListener("click", () => setView(1, 0, 0));
  actualButton.addEventListener("click", () => {
    const one = actualZoom();
    if (one) setView(one, 0, 0);
  });
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
  // asked from Python when an image is picked below (a tile of the explorer): bring the viewer on
  // screen, or it opened far above what the user was looking at
  const reveal = () => { if (model.get("reveal") > 0) host.scrollIntoView({ block: "nearest" }); };
  model.on("change:reveal", reveal);
  requestAnimationFrame(reveal);
  for (const name of VIEW) model.on(`change:${name}`, changed);
  const resized = new ResizeObserver(apply);
  resized.observe(stage);
  showCaption();
  loadImages();
  return () => {
    resized.disconnect();
    urls.forEach((u) => URL.revokeObjectURL(u));
  };
}

export default { render };
