"""Synthetic images: what the offline emulator returns instead of Qwen-Image's pictures.

These images are made up on this machine; they only mimic the *shape* of a real answer so that
sweeps, grids, logs and OCR checks can be exercised without the network. What they show:

- a poster-like composition (gradient background, a central "product" with a halo and a
  pedestal, a few shapes), its palette derived from the prompt and its layout from the seed;
- the prompt's quoted strings ('...', "...", ‘...’, “...”, 「...」...) as legible headlines on solid
  panels; Chinese, Japanese and Korean ones with a CJK font of the system (WITHOUT ONE, AS EMPTY
  BOXES, which `headlines` reports as □: `apt-get install fonts-wqy-microhei` on Debian/Ubuntu,
  or `QWENLAB_CJK_FONT`; see `qwenlab.emulator.fonts`),
  some of them misspelled at a deterministic, request-dependent rate (longer strings and smaller
  text more often; promptExtend and a negative prompt naming text flaws less often; the exact rule
  is in `qwenlab.emulator.misspelling`). This is synthetic behaviour so that text scores vary,
  not a claim about how Qwen-Image renders text. `headlines(scene)` tells what each string became;
- promptExtend on: a richer composition (frame, corner ornaments, rays, gold dust); off: the
  plain composition. No words say which: a "prompt extended" tag once did, and gave every blind
  judgement of promptExtend away;
- no negative prompt: clutter (speckles, stray strokes, noise); a negative prompt: a clean image;
- reference images blended into the background, so an edit visibly starts from its input. A
  reference given as a non-loopback URL (like the model page's https://assets.runware.ai/...
  example) is never fetched: a deterministic placeholder drawn from the URL stands in for it;
- an NSFW test (safety on and the prompt contains "[nsfw-test]"): a blacked-out image;
- always a "SYNTHETIC · qwenlab emulator" mark and the seed in the bottom corners, and the same
  word in the file's metadata (`SYNTHETIC_NOTE`: Exif ImageDescription and Software in every
  format, a JPEG comment, PNG tEXt chunks), so a file copied away or cropped still says what it is.

The same (key, seed) gives the same pixels; another seed gives another image. `key` is the
request's output hash. The composition is drawn at a reduced resolution and upscaled; text is
drawn at full resolution so it stays sharp.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import random
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

from .typography import (
    as_seen,
    fit_lines,
    font_for,
    misspell,
    misspell_probability,
    quoted_strings,
)

__all__ = ["Reference", "Scene", "Headline", "headlines", "render", "render_bytes", "encode", "placeholder", "MARK",
           "NSFW_TRIGGER", "SYNTHETIC_NOTE"]

MARK = "SYNTHETIC · qwenlab emulator"
NSFW_TRIGGER = "[nsfw-test]"
# In each file's metadata (ASCII: Exif's ImageDescription is an ASCII field).
SYNTHETIC_NOTE = ("SYNTHETIC: drawn locally by qwenlab's offline emulator of Runware's API, not made by Qwen-Image; "
                  "it shows what was requested, not what the model would draw")
_SOFTWARE = "qwenlab emulator (synthetic image)"


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = SYNTHETIC_NOTE  # ImageDescription
    exif[0x0131] = _SOFTWARE       # Software
    return exif.tobytes()


_EXIF = _exif()
_PNG_INFO = PngInfo()
_PNG_INFO.add_text("Description", SYNTHETIC_NOTE)
_PNG_INFO.add_text("Software", _SOFTWARE)
_LOW_SIDE = 320  # the composition's long side before upscaling: keeps a render in tens of ms
_FORMATS = {"JPG": ("JPEG", "image/jpeg", "jpg"), "JPEG": ("JPEG", "image/jpeg", "jpg"),
            "PNG": ("PNG", "image/png", "png"), "WEBP": ("WEBP", "image/webp", "webp")}


@dataclass(frozen=True)
class Reference:
    """An input image: `key` identifies it (for caching), `image` is its pixels (RGB)."""

    key: str
    image: Image.Image = field(compare=False, repr=False)


@dataclass(frozen=True)
class Scene:
    """Everything a synthetic image depends on."""

    prompt: str
    width: int = 1024
    height: int = 1024
    seed: int = 0
    key: str = ""  # the request's output hash; derived from the fields below when empty
    negative_prompt: str | None = None
    prompt_extend: bool = True
    references: tuple[Reference, ...] = ()
    nsfw: bool = False

    def cache_key(self) -> tuple:
        refs = tuple(r.key for r in self.references)
        return (self.key, self.seed, self.prompt, self.width, self.height, self.negative_prompt,
                self.prompt_extend, refs, self.nsfw)

    def rng(self) -> random.Random:
        basis = self.key or hashlib.sha256(repr(self.cache_key()).encode()).hexdigest()
        return random.Random(f"{basis}|{self.seed}")


def mime_and_ext(fmt: str) -> tuple[str, str]:
    """('image/jpeg', 'jpg') for 'JPG', and so on."""
    _, mime, ext = _FORMATS[fmt.upper()]
    return mime, ext


def encode(image: Image.Image, fmt: str = "JPG", quality: int = 95) -> bytes:
    """The image as JPG/PNG/WEBP bytes at `quality` (PNG is lossless and ignores it), its
    metadata saying it is synthetic (`SYNTHETIC_NOTE`)."""
    pil_fmt = _FORMATS[fmt.upper()][0]
    buf = io.BytesIO()
    if pil_fmt == "PNG":
        image.save(buf, "PNG", compress_level=1, pnginfo=_PNG_INFO, exif=_EXIF)  # level 1: the emulator must answer quickly
    elif pil_fmt == "WEBP":
        image.save(buf, "WEBP", quality=int(quality), method=0, exif=_EXIF)
    else:
        image.save(buf, "JPEG", quality=int(quality), exif=_EXIF, comment=SYNTHETIC_NOTE)
    return buf.getvalue()


_CACHE: OrderedDict[tuple, bytes] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64


def render_bytes(scene: Scene, fmt: str = "JPG", quality: int = 95) -> bytes:
    """`encode(render(scene), fmt, quality)`, from a small cache when the same image was made."""
    key = (scene.cache_key(), fmt.upper(), int(quality))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    data = encode(render(scene), fmt, quality)
    with _CACHE_LOCK:
        _CACHE[key] = data
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return data


def render(scene: Scene) -> Image.Image:
    """The synthetic image of a scene (RGB, scene.width x scene.height)."""
    w, h = int(scene.width), int(scene.height)
    rng = scene.rng()
    if scene.nsfw:
        image = Image.new("RGB", (w, h), (8, 8, 8))
        draw = ImageDraw.Draw(image)
        _centered(draw, "content withheld: NSFW test", w, h // 2, max(12, w // 28), (200, 200, 200))
    else:
        scale = min(1.0, _LOW_SIDE / max(w, h))
        lw, lh = max(8, round(w * scale)), max(8, round(h * scale))
        palette = _palette(scene.prompt, rng)
        low = _background(lw, lh, palette, rng)
        if scene.references:
            low = Image.blend(low, _cover(_mix(scene.references, (lw, lh)), (lw, lh)), 0.6)
        layer = Image.new("RGBA", (lw, lh), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        if scene.prompt_extend:
            _ornaments(draw, lw, lh, palette, rng)
        _product(draw, lw, lh, palette, rng)
        if not scene.negative_prompt:
            _clutter(draw, lw, lh, rng)
        low = Image.alpha_composite(low.convert("RGBA"), layer).convert("RGB")
        if not scene.negative_prompt:
            # from the scene's dice, not Image.effect_noise (C rand(), unseeded): same scene, same pixels
            noise = Image.frombytes("L", (lw, lh), rng.randbytes(lw * lh)).convert("RGB")
            low = Image.blend(low, noise, 0.12)
        image = low.resize((w, h), Image.BILINEAR)
        draw = ImageDraw.Draw(image)
        _headlines(draw, headlines(scene), w, h, palette)
    _mark(ImageDraw.Draw(image), w, h, scene.seed)
    return image


def placeholder(url: str, size: tuple[int, int] = (512, 512)) -> Image.Image:
    """A deterministic stand-in for an image at a URL the emulator must not fetch."""
    digest = hashlib.sha256(url.encode("utf-8")).digest()
    rng = random.Random(digest)
    w, h = size
    palette = [_hsv(digest[0] / 255 + i * 0.17, 0.35 + 0.1 * i, 0.35 + 0.15 * i) for i in range(4)]
    image = Image.new("RGB", (w, h), palette[0])
    draw = ImageDraw.Draw(image)
    stripe = max(8, w // 12)
    for i in range(-h // stripe, (w + h) // stripe + 1):
        x = i * stripe
        draw.polygon([(x, 0), (x + stripe // 2, 0), (x + stripe // 2 - h, h), (x - h, h)], fill=palette[1 + i % 3])
    for _ in range(5):
        cx, cy, r = rng.randrange(w), rng.randrange(h), rng.randrange(w // 10, w // 4)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=palette[3], width=max(2, w // 100))
    _centered(draw, "placeholder: URL not fetched", w, h // 2, max(10, w // 22), (245, 245, 245), panel=(20, 20, 20))
    return image


# -- composition ----------------------------------------------------------------------------------
def _hsv(hue: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, max(0.0, min(1.0, s)), max(0.0, min(1.0, v)))
    return round(r * 255), round(g * 255), round(b * 255)


def _palette(prompt: str, rng: random.Random) -> dict[str, tuple[int, int, int]]:
    base = int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:4], "big") / 2**32
    hue = base + rng.uniform(-0.08, 0.08)
    return {
        "top": _hsv(hue, 0.55, 0.22 + rng.uniform(0, 0.15)),
        "bottom": _hsv(hue + 0.08, 0.45, 0.55 + rng.uniform(0, 0.2)),
        "accent": _hsv(hue + 0.5, 0.5, 0.85),
        "gold": _hsv(0.12 + rng.uniform(-0.02, 0.02), 0.55, 0.9),
        "ink": _hsv(hue, 0.6, 0.12),
        "paper": _hsv(hue + 0.05, 0.08, 0.97),
    }


def _background(w: int, h: int, palette: dict, rng: random.Random) -> Image.Image:
    kind = rng.choice(("vertical", "diagonal", "radial"))
    if kind == "radial":
        mask = Image.radial_gradient("L").resize((w, h))
    else:
        mask = Image.linear_gradient("L")
        if kind == "diagonal":
            mask = mask.rotate(rng.choice((30, -30)), resample=Image.BILINEAR, expand=False, fillcolor=255)
        mask = mask.resize((w, h))
    return Image.composite(Image.new("RGB", (w, h), palette["bottom"]), Image.new("RGB", (w, h), palette["top"]), mask)


def _product(draw: ImageDraw.ImageDraw, w: int, h: int, palette: dict, rng: random.Random) -> None:
    cx = w * rng.uniform(0.4, 0.6)
    cy = h * rng.uniform(0.5, 0.62)
    bw, bh = w * rng.uniform(0.16, 0.26), h * rng.uniform(0.22, 0.34)
    halo = max(bw, bh) * 0.9
    draw.ellipse([cx - halo, cy - halo, cx + halo, cy + halo], fill=(*palette["paper"], 70))
    pedestal_top = cy + bh / 2
    draw.rectangle([cx - bw * 1.1, pedestal_top, cx + bw * 1.1, pedestal_top + h * 0.06], fill=(*palette["ink"], 230))
    draw.rounded_rectangle([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], radius=int(bw / 5),
                           fill=(*palette["accent"], 235), outline=(*palette["paper"], 255), width=2)
    cap = bw * 0.4
    draw.rectangle([cx - cap / 2, cy - bh / 2 - h * 0.05, cx + cap / 2, cy - bh / 2], fill=(*palette["gold"], 255))
    for _ in range(rng.randint(2, 4)):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(w * 0.03, w * 0.1)
        colour = (*rng.choice((palette["accent"], palette["gold"], palette["paper"])), 120)
        if rng.random() < 0.5:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        else:
            draw.regular_polygon((x, y, r), rng.choice((3, 4, 6)), rotation=rng.uniform(0, 90), fill=colour)


def _ornaments(draw: ImageDraw.ImageDraw, w: int, h: int, palette: dict, rng: random.Random) -> None:
    gold = (*palette["gold"], 255)
    cx, cy = w / 2, h * 0.56
    for i in range(12):  # rays behind the product
        a = i * 30 + rng.uniform(-4, 4)
        draw.pieslice([cx - w, cy - w, cx + w, cy + w], a, a + 6, fill=(*palette["gold"], 45))
    inset = max(3, w // 30)
    for k in (0, 1):
        d = inset + k * max(2, w // 80)
        draw.rectangle([d, d, w - 1 - d, h - 1 - d], outline=gold, width=1)
    r = max(3, w // 40)
    for x, y in ((inset, inset), (w - inset, inset), (inset, h - inset), (w - inset, h - inset)):
        draw.regular_polygon((x, y, r), 4, rotation=45, fill=gold)
    for _ in range(40):  # gold dust
        x, y, s = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.6, 1.6)
        draw.ellipse([x - s, y - s, x + s, y + s], fill=(*palette["gold"], 200))


def _clutter(draw: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    for _ in range(70):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256), 200)
        if rng.random() < 0.5:
            draw.line([x, y, x + rng.uniform(-w / 6, w / 6), y + rng.uniform(-h / 6, h / 6)], fill=colour, width=1)
        else:
            s = rng.uniform(0.5, 2.0)
            draw.rectangle([x, y, x + s, y + s], fill=colour)


def _mix(references: tuple[Reference, ...], size: tuple[int, int]) -> Image.Image:
    images = [_cover(r.image.convert("RGB"), size) for r in references]
    out = images[0]
    for i, img in enumerate(images[1:], start=2):
        out = Image.blend(out, img, 1.0 / i)
    return out


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    w, h = size
    iw, ih = image.size
    s = max(w / iw, h / ih)
    resized = image.convert("RGB").resize((max(w, round(iw * s)), max(h, round(ih * s))), Image.BILINEAR)
    left, top = (resized.width - w) // 2, (resized.height - h) // 2
    return resized.crop((left, top, left + w, top + h))


# -- text ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Headline:
    """One quoted string as a scene draws it: `drawn` is what a reader sees, which differs from
    `expected` when misspelled, or where CJK characters show as empty boxes (□) for want of a
    CJK font on this machine (see `qwenlab.emulator.fonts.cjk_font_path`)."""

    expected: str
    drawn: str
    px: int                   # glyph size it is drawn at, after fitting
    misspell_probability: float
    font: object = field(repr=False, compare=False, default=None)
    lines: tuple[str, ...] = field(repr=False, compare=False, default=())
    top: bool = True          # the first two strings sit at the top, the others near the bottom

    @property
    def misspelled(self) -> bool:
        return self.drawn != self.expected


def headlines(scene: Scene) -> list[Headline]:
    """What a scene draws for each of its prompt's quoted strings (and at what size), with the
    emulator's synthetic misspellings applied (see `qwenlab.emulator.misspelling`)."""
    if scene.nsfw:
        return []
    w = int(scene.width)
    basis = scene.key or hashlib.sha256(repr(scene.cache_key()).encode()).hexdigest()
    box = int(w * 0.84)
    out = []
    for i, text in enumerate(quoted_strings(scene.prompt)):
        size, min_size = (([int(w * 0.085), int(w * 0.05)][i], max(10, w // 60)) if i < 2
                          else (int(w * 0.036), max(10, w // 70)))
        font, lines = fit_lines(text, box, size, min_size=min_size, max_lines=2)
        p = misspell_probability(text, font.size, prompt_extend=scene.prompt_extend, negative_prompt=scene.negative_prompt)
        # dice of their own, so the composition (drawn from scene.rng()) is the same with or without typos
        dice = random.Random(f"typo|{basis}|{scene.seed}|{i}|{text}")
        drawn = misspell(text, dice) if dice.random() < p else text
        if drawn != text:
            font, lines = fit_lines(drawn, box, size, min_size=min_size, max_lines=2)
        out.append(Headline(text, as_seen(drawn), int(font.size), p, font, tuple(lines), i < 2))
    return out


def _headlines(draw: ImageDraw.ImageDraw, items: list[Headline], w: int, h: int, palette: dict) -> None:
    y = int(h * 0.06)
    for item in items[:2]:
        y = _panel_text(draw, item.font, list(item.lines), w, y, palette) + int(h * 0.015)
    y = int(h * 0.9)
    for item in reversed(items[2:]):
        height = _lines_height(item.font, list(item.lines))
        y -= height + int(h * 0.02)
        _panel_text(draw, item.font, list(item.lines), w, y, palette)


def _lines_height(font, lines: list[str]) -> int:
    return sum(font.getbbox(line)[3] for line in lines) + int(font.size * 0.3) * (len(lines) - 1) + int(font.size * 0.6)


def _panel_text(draw: ImageDraw.ImageDraw, font, lines: list[str], w: int, y: int, palette: dict) -> int:
    """Draw centred lines on a solid panel from y down; return the y below the panel."""
    pad = int(font.size * 0.3)
    widths = [font.getlength(line) for line in lines]
    height = _lines_height(font, lines)
    left = (w - max(widths)) / 2 - pad * 2
    draw.rounded_rectangle([left, y, w - left, y + height], radius=pad, fill=palette["ink"])
    ty = y + pad
    for line, lw in zip(lines, widths):
        draw.text(((w - lw) / 2, ty), line, font=font, fill=palette["paper"])
        ty += font.getbbox(line)[3] + int(font.size * 0.3)
    return y + height


def _mark(draw: ImageDraw.ImageDraw, w: int, h: int, seed: int) -> None:
    font, mark = font_for(MARK, max(10, min(w, h) // 40))
    _, seed_text = font_for(f"seed {seed}", font.size)
    strip = int(font.size * 1.6)
    draw.rectangle([0, h - strip, w, h], fill=(0, 0, 0))
    pad = font.size // 2
    draw.text((pad, h - strip + font.size * 0.25), mark, font=font, fill=(255, 255, 255))
    draw.text((w - pad - font.getlength(seed_text), h - strip + font.size * 0.25), seed_text, font=font, fill=(255, 255, 255))


def _centered(draw, text: str, w: int, y: int, size: int, fill, panel=None) -> None:
    font, shown = font_for(text, size)
    tw = font.getlength(shown)
    if panel is not None:
        pad = font.size // 3
        draw.rectangle([(w - tw) / 2 - pad, y - pad, (w + tw) / 2 + pad, y + font.size + pad], fill=panel)
    draw.text(((w - tw) / 2, y), shown, font=font, fill=fill)
