"""OCR engines behind one small interface: `engine.read(image) -> Reading`.

    engine = get_engine()              # "auto": RapidOCR if installed, else Tesseract if on PATH
    engine = get_engine("tesseract")
    reading = engine.read("poster.png")   # a path, bytes or a PIL image
    reading.lines                         # TextLine(text, confidence, box) in reading order

- `RapidOCREngine` ("rapidocr"): the PP-OCRv4 detector and recogniser (the OCR the text-rendering
  papers score with) run by onnxruntime. The models ship inside the `rapidocr-onnxruntime` wheel,
  so it works offline. Installed by `pip install 'qwenlab[ocr]'` (heavy: OpenCV and onnxruntime).
- `TesseractEngine` ("tesseract"): the `tesseract` program (`apt-get install tesseract-ocr`),
  run as a subprocess in sparse-text mode; words grouped into lines by Tesseract's own layout.

An engine's `name` is what the log keys readings by: an image read by "rapidocr" is not read by
it again; reading it with "tesseract" adds a second reading beside the first. An engine with
`settings` (Tesseract: its lang, psm and min_confidence) reads again an image it read with other
settings: the packs asked for are the packs used.

An engine's `scripts` are the writing systems it reads (`qwenlab.core.scripts.letter_scripts`):
RapidOCR's shipped models read Latin letters and Chinese characters, not Japanese kana nor Korean
hangul (measured: "サマーセール" and "여름 세일" read as nothing, "春の大売り出し" as "春の出"); Tesseract
reads its language packs' scripts (`lang="eng+jpn+kor"` with tesseract-ocr-jpn and -kor
installed; Chinese text needs chi_sim or chi_tra: jpn reads kanji in Japanese text, not Chinese). An image whose expected text needs a script its engine does not read is not scored
by it (`score_images`): a score of 0 would blame the model for the OCR. An engine without
`scripts` is taken to read every script.
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
import io
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Protocol, runtime_checkable

from ..core.scripts import letter_scripts
from ..errors import OCRUnavailableError, QwenlabError
from .reading import Reading, TextLine, in_reading_order

__all__ = ["OCREngine", "RapidOCREngine", "TesseractEngine", "get_engine",
           "available_engines", "ENGINES", "load_image", "tesseract_scripts", "packs_for", "needed_scripts", "apt_package",
           "tesseract_packs", "missing_packs"]


@runtime_checkable
class OCREngine(Protocol):
    """What scoring needs of an engine."""

    name: str

    @property
    def version(self) -> str: ...

    def read(self, image: Any) -> Reading: ...


def load_image(image: Any):
    """A PIL RGB image from a path, bytes or a PIL image."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, (bytes, bytearray)):
        with Image.open(io.BytesIO(image)) as img:
            return img.convert("RGB")
    with Image.open(Path(image)) as img:
        return img.convert("RGB")


# the narrowest box a text line is recognised in (RapidOCR's own: 320 px, every line padded to it)
REC_MIN_WIDTH = 96
# the short sides the detector sees an image at: smaller images scaled up to the first, bigger ones
# down to the second (RapidOCREngine's docstring says why)
DETECT_SIDES = (576, 1024)


def _detect_sides(side: Any) -> tuple[int, int] | None:
    """`detect_side` as a (smallest, largest) pair of short sides; None stays None."""
    if side is None:
        return None
    pair = (side, side) if not isinstance(side, (tuple, list)) else tuple(side)
    if (len(pair) != 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 32 for s in pair)
            or pair[0] > pair[1]):
        raise ValueError(f"detect_side must be a whole number of pixels >= 32, a (smallest, largest) pair of them, "
                         f"or None for RapidOCR's own scaling; got {side!r}")
    return (pair[0], pair[1])


class RapidOCREngine:
    """PP-OCR through RapidOCR (onnxruntime; models shipped in the wheel). Thread-safe.

    It keeps `workers` recognisers (default: one per CPU, at most 4), each running onnxruntime
    on one thread, and `read` takes a free one: called from `workers` threads at once (as
    `score_images` does) it reads that many images in parallel, which on small models keeps the
    cores busier than one recogniser spreading each image over every core. The angle classifier
    is off by default (`use_cls=False`): poster text is upright, and the classifier only ever
    turned a line upside down.

    Where the time went (`python -m qwenlab.bench.typography`, a 1024x1024 image: detection half,
    recognition half), and what changed:

    - `detect_side` (default `(576, 1024)`): the short side the detector sees the image at. A
      range brings the short side into it: smaller images are scaled up to its low end, bigger
      ones down to its high end, and those between are detected at their own size; a single
      number scales every image to it. The crops it recognises always come from the
      full-resolution image. Why these ends (throwaway `/tmp/s25/agree*.py`, 2026-12-07): the
      detector misses text that it sees under about 11 px tall, and enlarging does not help
      beyond that. Specimens of text 13 to 36 px on 1024x1024 (seed 6) lost two strings of 78
      detected at 736 and three at 640, eight at 576, none at 896, 960 or full size; of text 10
      to 36 px (seeds 7 and 8), 300, 308 and 311 of 316 agreed at 736, 896 and full size. Text
      11 to 45 px on 400 to 512 px images, and the emulator's 12 px mark on 96 of its 512 px images,
      read as well at 576 as at 736 (484 against 482 of 486 strings; 96 of 96 marks), and 360
      specimens of 640x480, 512 and 1024 px 732 against 731 of 738. A 512 px image detected at
      576 instead of 736 takes 107 instead of 171 ms of CPU. None: RapidOCR's own scaling (it
      only scales up, to 736).
    - one text line per recogniser call (`rec_batch_num=1`): RapidOCR pads every line of a batch
      to the widest one, so a short "EST. 1928" batched with "Midnight Bloom Eau de Parfum" cost
      as much as the long line.
    - a line is recognised at its own width (`rec_img_shape=[3, 48, 96]`): RapidOCR pads every
      line to at least 320 px (a 6.7:1 box), so a short headline cost a long line's work; now
      only a crop narrower than 2:1 is padded, to 96 px. Recognition 8% less CPU on the emulator's
      512 px images (113 -> 104 ms an image), the same verdicts on the benchmark's specimens, and
      688 against 689 of 696 strings on 360 specimens of 640x480, 512 and 1024 px (one string
      read better, two worse).

    - onnxruntime's memory arena on (`memory_arena=True`): RapidOCR turns it off, so every
      inference allocates and frees its buffers; with it, 5 to 10% more images a second (512 and
      1024 px). The arena keeps what the largest image needed: `trim()`, which `score_images`
      calls after its pass, gives it back.

    `options` go to `rapidocr_onnxruntime.RapidOCR(...)` (e.g. `text_score=0.5`, `use_cls=True`,
    `rec_batch_num=6`)."""

    name = "rapidocr"
    package = "rapidocr-onnxruntime"
    # PP-OCRv4's Chinese recogniser, the one the wheel ships: Latin letters, digits and Chinese characters
    scripts = frozenset({"latin", "han"})

    def __init__(self, *, workers: int | None = None, detect_side: int | tuple[int, int] | None = DETECT_SIDES,
                 memory_arena: bool = True, **options: Any) -> None:
        if importlib.util.find_spec("rapidocr_onnxruntime") is None:
            raise OCRUnavailableError(f"the OCR engine 'rapidocr' needs the package rapidocr-onnxruntime: {_rapidocr_fix()} "
                                      "(or use engine='tesseract' where tesseract is installed)")
        self.workers = max(1, workers if workers is not None else min(4, os.cpu_count() or 1))
        threads = 1 if self.workers > 1 else -1  # one recogniser: let onnxruntime use every core
        self.detect_side = _detect_sides(detect_side)
        self.memory_arena = memory_arena
        self.options = {"use_cls": False, "intra_op_num_threads": threads, "rec_batch_num": 1,
                        "rec_img_shape": [3, 48, REC_MIN_WIDTH], **options}
        self._free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._made = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"RapidOCREngine(version={self.version!r}, workers={self.workers}, detect_side={self.detect_side}"
                f"{'' if self.memory_arena else ', memory_arena=False'})")

    @property
    def settings(self) -> str | None:
        """What its readings depend on besides the package, where it is not the default: a
        `detect_side` of its own (`"detect_side 576-2048"`), so that `score_images` reads again
        the images read the default way. None for the default: what another `detect_side` read is
        kept, not read again."""
        if self.detect_side == DETECT_SIDES:
            return None
        return "detect_side rapidocr" if self.detect_side is None else "detect_side {}-{}".format(*self.detect_side)

    @property
    def version(self) -> str:
        """The package's version, and the settings its readings are made with where they are not
        the default (stored with each reading)."""
        try:
            base = f"{self.package} {importlib.metadata.version(self.package)}"
        except importlib.metadata.PackageNotFoundError:
            base = self.package
        settings = self.settings
        return base if settings is None else f"{base} ({settings})"

    def _take(self) -> Any:
        """A free recogniser: one waiting, a new one while fewer than `workers` exist, else the
        next one given back."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            make = self._made < self.workers
            self._made += make
        if not make:
            return self._free.get()
        from rapidocr_onnxruntime import RapidOCR

        with _memory_arena(self.memory_arena):
            ocr = RapidOCR(**self.options)
        if self.detect_side is not None:
            # RapidOCR asks its detector for a preprocessor per image (by the image's longest
            # side); ours brings the short side into detect_side whatever the size
            ocr.text_det.get_preprocess = lambda _longest: _DetectionInput(*self.detect_side)
        return ocr

    def read(self, image: Any) -> Reading:
        """Every line of text in `image` (a path, bytes or PIL image)."""
        img = load_image(image)
        ocr = self._take()
        try:
            started = time.perf_counter()
            result, _ = ocr(img)
            seconds = time.perf_counter() - started
        finally:
            self._free.put(ocr)
        lines = []
        for box, text, confidence in result or []:
            points = tuple((float(x), float(y)) for x, y in box)
            lines.append(TextLine(str(text), float(confidence), points))  # type: ignore[arg-type]
        return Reading(self.name, tuple(in_reading_order(lines)), self.version, seconds, img.width, img.height)

    def trim(self) -> None:
        """Give back the memory the idle recognisers keep between reads. onnxruntime's arena
        holds what the largest image needed: after 48 images of 512 px, the process held 678 MB
        untrimmed, 300 MB trimmed, and 417 to 460 MB with the arena off (malloc keeps some too).
        `score_images` calls it when its pass is over; the next read grows the arena again."""
        idle = []
        while True:
            try:
                idle.append(self._free.get_nowait())
            except queue.Empty:
                break
        try:
            for ocr in idle:
                for session in _sessions(ocr):
                    _shrink_arena(session)
        finally:
            for ocr in idle:
                self._free.put(ocr)


_ARENA = threading.local()  # .on: sessions made by this thread get the arena (see _memory_arena)
_ARENA_SWITCH_LOCK = threading.Lock()


@contextmanager
def _memory_arena(on: bool) -> Iterator[None]:
    """onnxruntime sessions this thread makes inside have their CPU memory arena `on` (RapidOCR
    makes them with it off). RapidOCR builds its session options in one static method and takes
    no setting for this: the method is wrapped once, and the wrapper turns the arena on only for a
    thread inside this block, so any other RapidOCR in the process is made as RapidOCR makes it,
    and recognisers are still made in parallel. A RapidOCR without that method is left as it is."""
    if not on or not _arena_switch_installed():
        yield
        return
    _ARENA.on = True
    try:
        yield
    finally:
        _ARENA.on = False


def _arena_switch_installed() -> bool:
    try:
        from rapidocr_onnxruntime.utils import infer_engine
    except ImportError:
        return False
    with _ARENA_SWITCH_LOCK:
        build = infer_engine.OrtInferSession.__dict__.get("_init_sess_opts")
        if getattr(build, "__func__", None) is not None and getattr(build.__func__, "_qwenlab_arena_switch", False):
            return True
        if not isinstance(build, staticmethod):
            return False

        def with_arena_switch(config: Any) -> Any:
            options = build.__func__(config)
            if getattr(_ARENA, "on", False):
                options.enable_cpu_mem_arena = True
            return options

        with_arena_switch._qwenlab_arena_switch = True  # type: ignore[attr-defined]
        infer_engine.OrtInferSession._init_sess_opts = staticmethod(with_arena_switch)
        return True


def _sessions(ocr: Any) -> list[Any]:
    """The onnxruntime sessions of a RapidOCR (detector, recogniser, angle classifier) it has."""
    found = []
    for path in (("text_det", "infer", "session"), ("text_rec", "session", "session"), ("text_cls", "infer", "session")):
        node = ocr
        for name in path:
            node = getattr(node, name, None)
        if node is not None and hasattr(node, "run"):
            found.append(node)
    return found


def _shrink_arena(session: Any) -> None:
    """Run `session` once on a small input of zeros, asking onnxruntime to shrink its CPU arena
    at the end of the run. Best effort: an onnxruntime without the option, or a model that refuses
    the input, keeps its memory."""
    import numpy as np
    import onnxruntime

    try:
        options = onnxruntime.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        inputs = {}
        for spec in session.get_inputs():
            # fixed sides as the model says (the recogniser's height of 48), the free ones 32
            shape = [d if isinstance(d, int) and d > 0 else (1 if i == 0 else 32) for i, d in enumerate(spec.shape)]
            inputs[spec.name] = np.zeros(shape, np.float32)
        session.run(None, inputs, options)
    except Exception:  # noqa: BLE001 - trimming is an optimisation only
        pass


class _DetectionInput:
    """The detector's input as RapidOCR prepares it (BGR, (x/255 - 0.5)/0.5, channels first,
    sides multiples of 32), but with the short side brought into `smallest` to `largest` pixels,
    down (by area) as well as up, and computed in float32 (RapidOCR computes in float64 and
    converts)."""

    def __init__(self, smallest: int, largest: int | None = None) -> None:
        self.smallest, self.largest = smallest, smallest if largest is None else largest

    def __call__(self, img: Any) -> Any:
        import cv2
        import numpy as np

        h, w = img.shape[:2]
        short = min(h, w)
        ratio = min(max(short, self.smallest), self.largest) / short
        size = (max(32, round(w * ratio / 32) * 32), max(32, round(h * ratio / 32) * 32))
        if size == (w, h):
            x = img.astype(np.float32)
        else:
            # shrinking: INTER_AREA averages the pixels it merges (linear would alias thin strokes);
            # enlarging: linear, as RapidOCR does
            x = cv2.resize(img, size, interpolation=cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR).astype(np.float32)
        x *= 2 / 255
        x -= 1.0
        return np.ascontiguousarray(x.transpose(2, 0, 1)[np.newaxis])


# The scripts of Tesseract's language packs that are not Latin-only (every other pack reads Latin
# letters): a pack's letters, with Latin where its training text mixed it in (CJK packs read ASCII).
# "han" is Chinese text, which only the Chinese packs read: jpn reads the kanji of Japanese text and
# kor the hanja of Korean, beside the kana or hangul that make it theirs (`needed_scripts`), but
# not Chinese (measured with jpn+kor: 新年快乐 read as 新年快示, 限时优惠 as PRAY; simplified
# characters such as 乐 时 优 are not in their alphabets)
_TESSERACT_SCRIPTS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("chi_sim", "chi_tra", "chi_sim_vert", "chi_tra_vert", "HanS", "HanT", "HanS_vert", "HanT_vert"),
                    frozenset({"han", "latin"})),
    **dict.fromkeys(("jpn", "jpn_vert", "Japanese", "Japanese_vert"), frozenset({"kana", "latin"})),
    **dict.fromkeys(("kor", "kor_vert", "Hangul", "Hangul_vert"), frozenset({"hangul", "latin"})),
    **dict.fromkeys(("rus", "ukr", "bel", "bul", "mkd", "srp", "kaz", "kir", "mon", "tgk", "tat", "uzb_cyrl",
                     "Cyrillic"), frozenset({"cyrillic"})),
    **dict.fromkeys(("ell", "grc", "Greek"), frozenset({"greek"})),
    **dict.fromkeys(("ara", "fas", "urd", "pus", "uig", "snd", "Arabic"), frozenset({"arabic"})),
    **dict.fromkeys(("heb", "yid", "Hebrew"), frozenset({"hebrew"})),
    **dict.fromkeys(("hin", "mar", "nep", "san", "Devanagari"), frozenset({"devanagari"})),
    "tha": frozenset({"thai"}), "Thai": frozenset({"thai"}),
    "osd": frozenset(), "equ": frozenset(),
}
# the pack to ask for a script no pack in use reads
_PACK_FOR = {"kana": "jpn", "hangul": "kor", "han": "chi_sim", "cyrillic": "rus", "greek": "ell", "arabic": "ara",
             "hebrew": "heb", "devanagari": "hin", "thai": "tha", "latin": "eng"}


def apt_package(pack: str) -> str:
    """The Debian/Ubuntu package of a Tesseract language pack: "chi_sim" -> "tesseract-ocr-chi-sim"."""
    return f"tesseract-ocr-{pack.replace('_', '-').lower()}"


# the packs each tesseract program has, asked once a process: `qwenlab score --lang` asked twice
# (the option's check, then the engine's), and every engine made in a notebook asked again
_PACKS: dict[str, frozenset[str]] = {}


def tesseract_packs(binary: str | None = None, *, fresh: bool = False) -> set[str]:
    """The language packs the tesseract program (`binary`, else the one on PATH) has installed
    ("eng", "jpn", "osd", ...); an empty set when there is no tesseract. Asked once a process;
    fresh=True asks again (a pack found missing may have been installed since: `missing_packs`)."""
    found = binary or shutil.which("tesseract")
    if not found:
        return set()
    if fresh or found not in _PACKS:
        out = subprocess.run([found, "--list-langs"], capture_output=True, text=True, timeout=30)
        # the first line is a heading ("List of available languages in ...")
        _PACKS[found] = frozenset(line.strip() for line in (out.stdout + out.stderr).splitlines()[1:] if line.strip())
    return set(_PACKS[found])


def missing_packs(packs: "list[str]", binary: str | None = None) -> tuple[list[str], set[str]]:
    """Those of `packs` that tesseract lacks, and the packs it has. Tesseract is asked again
    before a pack is called missing: one installed since the process first asked (apt-get
    install, in the notebook's next cell, as the refusal advises) is found."""
    have = tesseract_packs(binary)
    if any(p not in have for p in packs):
        have = tesseract_packs(binary, fresh=True)
    return [p for p in packs if p not in have], have


def tesseract_scripts(lang: str) -> frozenset[str]:
    """The scripts Tesseract reads with `lang` ("eng", "eng+jpn"; a "script/Japanese" model too)."""
    packs = [pack.rsplit("/", 1)[-1] for pack in lang.split("+") if pack]
    return frozenset().union(*(_TESSERACT_SCRIPTS.get(pack, frozenset({"latin"})) for pack in packs))


def packs_for(scripts: "set[str] | frozenset[str]", lang: str = "eng") -> str:
    """`lang` with the Tesseract packs that read `scripts` added: "eng" and {"kana"} -> "eng+jpn",
    {"han"} (Chinese text: `needed_scripts`) -> "eng+chi_sim"."""
    packs = [p for p in lang.split("+") if p]
    wanted = [_PACK_FOR[s] for s in sorted(scripts) if s in _PACK_FOR]
    return "+".join(dict.fromkeys([*packs, *wanted]))


def needed_scripts(text: str) -> frozenset[str]:
    """The scripts an engine must read to read `text` (an image's expected strings): its letters'
    (`letter_scripts`), but Chinese characters beside kana are Japanese kanji and beside hangul
    Korean hanja, read by what reads that language; alone they are Chinese text ("han")."""
    scripts = letter_scripts(text)
    if "han" in scripts and scripts & {"kana", "hangul"}:
        return scripts - {"han"}
    return scripts


class TesseractEngine:
    """The `tesseract` program, one subprocess per image. `psm` is Tesseract's page segmentation
    mode (11: sparse text, as on posters); `lang` its language pack(s), e.g. "eng", "eng+fra" or
    "eng+jpn+kor" (each one installed: apt-get install tesseract-ocr-jpn; checked here, before any
    image is read); words below `min_confidence` (0-100) are dropped, as Tesseract's noise on
    textures is. `scripts`: what its packs read (see the module's doc)."""

    name = "tesseract"

    def __init__(self, *, lang: str = "eng", psm: int = 11, min_confidence: float = 30.0,
                 binary: str | None = None, timeout_s: float = 120.0) -> None:
        found = binary or shutil.which("tesseract")
        if not found:
            raise OCRUnavailableError(
                "the OCR engine 'tesseract' needs the tesseract program on PATH: apt-get install tesseract-ocr "
                "(or brew install tesseract), or use engine='rapidocr' (pip install 'qwenlab[ocr]')")
        self.binary = found
        self.lang, self.psm, self.min_confidence, self.timeout_s = lang, psm, min_confidence, timeout_s
        self._version: str | None = None
        self._require_packs()
        self.scripts = tesseract_scripts(lang)

    def _require_packs(self) -> None:
        """OCRUnavailableError naming the package to install for each pack of `lang` that
        Tesseract does not have: before any image is read, rather than every one failing."""
        missing, have = missing_packs([p for p in self.lang.split("+") if p], self.binary)
        if missing:
            packages = " ".join(apt_package(p) for p in missing if "/" not in p)
            raise OCRUnavailableError(
                f"lang={self.lang!r}: tesseract has no {', '.join(repr(p) for p in missing)} language pack "
                f"(it has {', '.join(sorted(have)) or 'none'}). Install it ("
                + (f"apt-get install {packages}; brew install tesseract-lang" if packages else "its traineddata file, into tesseract's tessdata folder")
                + "), or leave it out of lang")

    def __repr__(self) -> str:
        return f"TesseractEngine(lang={self.lang!r}, psm={self.psm})"

    @property
    def settings(self) -> str:
        """What its readings depend on besides the program: a reading made with other settings
        (another lang) is read again by `score_images`, not reused."""
        return f"lang {self.lang}, psm {self.psm}, min_confidence {self.min_confidence:g}"

    @property
    def version(self) -> str:
        """The program's version and the settings its readings are made with (stored with each)."""
        if self._version is None:
            out = subprocess.run([self.binary, "--version"], capture_output=True, text=True, timeout=30)
            first = (out.stdout or out.stderr).strip().splitlines()
            self._version = first[0] if first else "tesseract"
        return f"{self._version} ({self.settings})"

    def read(self, image: Any) -> Reading:
        """Every line of text in `image` (a path, bytes or PIL image)."""
        img = load_image(image)
        buf = io.BytesIO()
        # grey: Tesseract reads light-on-dark poster text far better without the colours
        img.convert("L").save(buf, "PNG", compress_level=1)
        started = time.perf_counter()
        out = subprocess.run([self.binary, "stdin", "stdout", "--psm", str(self.psm), "-l", self.lang, "tsv"],
                             input=buf.getvalue(), capture_output=True, timeout=self.timeout_s)
        seconds = time.perf_counter() - started
        if out.returncode != 0:
            raise QwenlabError(f"tesseract failed (exit {out.returncode}): {out.stderr.decode(errors='replace')[:300]}")
        lines = parse_tsv(out.stdout.decode("utf-8", errors="replace"), self.min_confidence)
        return Reading(self.name, tuple(in_reading_order(lines)), self.version, seconds, img.width, img.height)


def parse_tsv(tsv: str, min_confidence: float = 30.0) -> list[TextLine]:
    """Tesseract's TSV output as lines: its words grouped by (block, paragraph, line), each line's
    confidence the mean of its words' (0-1), its box the union of theirs."""
    groups: dict[tuple[str, str, str, str], list[dict[str, str]]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        try:
            conf = float(row["conf"])
        except (TypeError, ValueError):
            continue
        if conf < min_confidence:
            continue
        groups.setdefault((row["page_num"], row["block_num"], row["par_num"], row["line_num"]), []).append(row)
    lines = []
    for group in groups.values():
        group.sort(key=lambda r: int(r["word_num"]))
        left = min(int(r["left"]) for r in group)
        top = min(int(r["top"]) for r in group)
        right = max(int(r["left"]) + int(r["width"]) for r in group)
        bottom = max(int(r["top"]) + int(r["height"]) for r in group)
        conf = sum(float(r["conf"]) for r in group) / len(group) / 100.0
        box = ((left, top), (right, top), (right, bottom), (left, bottom))
        lines.append(TextLine(" ".join(r["text"].strip() for r in group), conf, box))  # type: ignore[arg-type]
    return lines


ENGINES: dict[str, type] = {"rapidocr": RapidOCREngine, "tesseract": TesseractEngine}
_shared: dict[str, Any] = {}
_shared_lock = threading.Lock()


def _rapidocr_fix() -> str:
    """How to get RapidOCR here. The releases qwenlab can use (1.3 or later) are made for Python
    < 3.13 only, where the `ocr` extra installs one; on a newer Python `pip install 'qwenlab[ocr]'`
    installs nothing (the extra's marker leaves it out), so repeating it fixed nothing."""
    if sys.version_info[:2] >= (3, 13):
        return (f"rapidocr-onnxruntime (1.3 or later, as qwenlab needs) is made for Python < 3.13 and this is "
                f"{sys.version_info[0]}.{sys.version_info[1]}, so pip install 'qwenlab[ocr]' adds nothing here: "
                "use a Python 3.11 or 3.12 virtualenv for it")
    return "pip install 'qwenlab[ocr]'"


def available_engines() -> list[str]:
    """Names of the engines that can run here, preferred first."""
    out = []
    if importlib.util.find_spec("rapidocr_onnxruntime") is not None:
        out.append("rapidocr")
    if shutil.which("tesseract"):
        out.append("tesseract")
    return out


def get_engine(engine: "str | OCREngine" = "auto") -> "OCREngine":
    """An engine by name ("auto", "rapidocr", "tesseract"), or `engine` itself if it is one.
    Named engines are shared within the process (RapidOCR loads its models once)."""
    if not isinstance(engine, str):
        if not (callable(getattr(engine, "read", None)) and isinstance(getattr(engine, "name", None), str)):
            # else an AttributeError deep in scoring ('NoneType' object has no attribute 'name')
            raise TypeError(f"engine must be 'auto', 'rapidocr', 'tesseract' or an OCR engine object (one with a name "
                            f"and read(), e.g. TesseractEngine(lang='eng+jpn')); got {type(engine).__name__}: {engine!r}")
        return engine
    name = engine.lower()
    if name == "auto":
        found = available_engines()
        if not found:
            raise OCRUnavailableError(
                f"no OCR engine is installed: {_rapidocr_fix()} (RapidOCR, works offline), "
                "or install the tesseract program (apt-get install tesseract-ocr, or brew install tesseract)")
        name = found[0]
    if name not in ENGINES:
        raise ValueError(f"engine must be one of auto, {', '.join(ENGINES)}; got {engine!r}")
    with _shared_lock:
        if name not in _shared:
            _shared[name] = ENGINES[name]()
        return _shared[name]
