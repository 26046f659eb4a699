// qwenlab's zoom ladder, one text shared by the notebook's compare viewer (qwenlab/widgets/compare.js,
// which it is put before) and the report's lightbox (qwenlab/html/viewer.py's script, inside which
// it is put): the same steps, the same 1:1 and 2:1, the same sharp pixels from 2:1 on, and the same
// readout in both. Plain function declarations, no module syntax: it runs in either.
//
// A scale is device pixels per image pixel: 1:1 is one image pixel per pixel of the screen, the
// device's own (half a CSS pixel on a Retina screen, devicePixelRatio 2), as a designer's "100%" is.
// One image pixel per CSS pixel was drawn there on 2 x 2 device pixels, smoothed: the strokes of
// small text came out soft at the very scale chosen to check them. + and - step along a ladder of
// scales 2^(k/3) (x1.26 a step), so that they land on 1:2, 1:1, 2:1 and 4:1 exactly (x1.25 from
// "fit" never reached 1:1, nor 2:1 from 1:1).

var ZOOM_STEPS_PER_DOUBLING = 3;

function dpr() {
  // device pixels per CSS pixel: 2 on a Retina screen, and it moves with the browser's own zoom
  return window.devicePixelRatio || 1;
}

function ladderStep(scale, up) {
  // the next scale (device pixels per image pixel) of the ladder above (or below) `scale`; a
  // rung within a quarter of a step (x1.06, "fit" just under 25%) is passed over, or the key
  // would seem to do nothing, and a scale on a rung (through floating point) counts as on it
  var at = Math.log2(scale) * ZOOM_STEPS_PER_DOUBLING;
  var k = up ? Math.floor(at + 0.25) + 1 : Math.ceil(at - 0.25) - 1;
  return Math.pow(2, k / ZOOM_STEPS_PER_DOUBLING);
}

function percent(scale) {
  // the readout's figure for `scale` device pixels per image pixel: "100%" (or 200%...) only at
  // that scale itself, where the file's pixels are shown as they are; at 99.7% the picture is
  // resampled, and the readout said 100%
  var pct = scale * 100;
  var whole = Math.round(pct);
  if (whole === 0 || whole % 100 !== 0 || Math.abs(pct - whole) <= 1e-4) return whole + "%";
  var one = pct.toFixed(1);
  return (Number(one) === whole ? pct.toFixed(2) : one) + "%";
}

function wholePixels(scale) {
  // device pixels per image pixel when a whole number of them (1:1, 2:1), else 0
  return scale >= 0.5 && Math.abs(scale - Math.round(scale)) <= 1e-6 ? Math.round(scale) : 0;
}

function pixelShift(scale, left, top) {
  // At a whole number of device pixels per image pixel (1:1, 2:1: `scale`), the shift in CSS
  // pixels that puts the image's corner, at (`left`, `top`) CSS pixels from a corner the browser
  // draws on a device pixel (the window's, a pane's), on a pixel of the screen; [0, 0] at other
  // scales, where the picture is resampled anyway. Half a device pixel off (an image of odd size
  // centred, on a Retina screen even a whole CSS pixel's half), the browser resampled it, and
  // every stroke of small text was smeared over two pixels at the very scale chosen to read it.
  if (!wholePixels(scale)) { return [0, 0]; }
  var d = dpr();
  return [Math.round(left * d) / d - left, Math.round(top * d) / d - top];
}

function rendering(scale) {
  // the image-rendering at `scale`: at 2:1, 3:1... each image pixel a square of whole device
  // pixels, as a designer's 200% shows it (smoothed, the strokes of a letter were blurred over
  // their neighbours); below, the browser's smoothing
  return wholePixels(scale) >= 2 ? "pixelated" : "";
}
