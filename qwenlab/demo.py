"""`qwenlab demo`: a whole experiment, offline, in one command.

It sweeps the four example requests of Qwen-Image-2.0-Pro's Runware page (embedded below as
data) over promptExtend on/off x two sizes x with/without the example's negative prompt x 2
repeats = 64 cells, against qwenlab's emulator on loopback, and writes the log, the images and
one comparison grid per example under the data folder. Running it again resumes the same
experiment: nothing done is sent twice.

The page's first example edits a photo hosted on assets.runware.ai; nothing here may reach
beyond loopback, so the demo draws its own street scene with an empty billboard (Pillow, once)
and uploads that instead.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .api.client import EMULATOR_KEY, RunwareClient
from .api.connect import connect
from .core.request import Request, new_task_uuid
from .core.values import count_of, format_usd
from .emulator import start_embedded
from .lab import Lab
from .paths import data_dir as default_dir
from .secrets import as_secret
from .sweeps.sweep import Sweep

__all__ = ["EXAMPLES", "demo_sweep", "run_demo", "DemoResult", "DEMO_NAME", "reference_image"]

DEMO_NAME = "demo"
MODEL = "alibaba:qwen-image@2.0-pro"

# The four examples of the model page (shared/seed/000_234d0ef179007147.txt), prompts verbatim.
# "reference" marks the edit, whose reference image the demo supplies itself.
EXAMPLES: dict[str, dict[str, Any]] = {
    "billboard edit (LUNE NOIRE)": {
        "reference": True,
        "positivePrompt": (
            "Edit the reference image by transforming the empty billboard into a premium fragrance advertisement for a "
            "fictional brand named 'LUNE NOIRE'. Preserve the original street perspective, lighting direction, weather "
            "mood, and realism of the surrounding environment. Design a sophisticated billboard featuring a tall faceted "
            "black-glass perfume bottle with a brushed gold cap, centered against a deep midnight-indigo gradient with "
            "subtle moonlit haze and delicate silver dust particles. Add elegant, highly legible typography that reads: "
            "'LUNE NOIRE' as the main brand name, and beneath it in smaller text: 'Midnight Bloom Eau de Parfum'. Include "
            "a minimal gold crescent-moon icon above the brand name. The layout should feel like a real luxury fashion "
            "campaign: spacious negative space, strong visual hierarchy, clean alignment, refined editorial styling, "
            "photorealistic print texture on the billboard surface, and believable integration into the scene. The final "
            "image should look like a high-end cosmetic campaign photographed for a global brand launch."),
        "negativePrompt": (
            "distorted text, misspelled words, extra bottles, cluttered layout, low resolution, cartoon style, "
            "oversaturated colors, warped billboard, floating elements, bad perspective, blurry product, cheap design"),
    },
    "skincare poster (LUMIERE)": {
        "positivePrompt": (
            "A premium beauty advertising poster for a fictional skincare brand called LUMIERE. Centered frosted glass "
            "serum bottle with a silver dropper on a reflective marble pedestal, surrounded by soft white orchids, dew "
            "drops, and a subtle halo of light. Clean luxury studio lighting, creamy ivory and champagne color palette, "
            "ultra-detailed product photography aesthetic, refined shadows, elegant composition with generous negative "
            "space. Include sophisticated readable packaging text on the bottle: 'LUMIERE', 'Radiance Renewal Serum', and "
            "'30 ml'. Add tasteful poster headline typography near the top: 'Glow, Refined.' and small subheading near the "
            "bottom: 'Clinical hydration with a luminous finish.' High-end editorial design, immaculate layout, crisp "
            "typography, realistic materials, premium cosmetics campaign."),
        "negativePrompt": (
            "blurry text, distorted bottle, extra objects, cluttered layout, misspelled words, low resolution, warped "
            "label, duplicated flowers, harsh shadows, cartoon style"),
    },
    "art deco perfume (AURELIS NOIR)": {
        "positivePrompt": (
            "Luxury Art Deco perfume advertisement poster, centered crystal perfume bottle with a faceted stopper on a "
            "black lacquer pedestal, glowing amber liquid, symmetrical composition, brushed gold geometric frame, deep "
            "emerald and champagne palette, subtle peacock-feather motifs, soft theatrical spotlight, polished marble floor "
            "reflections, floating gold dust, ultra-detailed premium packaging aesthetic. Include elegant, highly legible "
            "poster typography integrated into the design: at the top in large refined serif letters, 'AURELIS NOIR'; "
            "below it in smaller caps, 'PARFUM EXTRÊME'; near the bottom, 'Midnight Bloom Collection'; and a small "
            "circular seal icon reading 'EST. 1928'. Clean kerning, accurate lettering, believable print layout, "
            "magazine-quality luxury branding, sharp focus, rich detail, sophisticated and opulent mood."),
        "negativePrompt": (
            "blurry text, misspelled words, distorted bottle, extra objects, cluttered layout, low contrast, warped "
            "typography, watermark, cropped product, messy reflections"),
    },
    "perfume billboard (LUMIÈRE NOIR)": {
        "positivePrompt": (
            "A premium fashion billboard advertisement for a fictional luxury perfume called 'LUMIÈRE NOIR'. Centered "
            "crystal perfume bottle with faceted glass, black lacquer cap, subtle gold accents, resting on a glossy "
            "obsidian pedestal. Dramatic studio lighting, soft volumetric glow, floating particles, rich shadows, tasteful "
            "reflections, cinematic high-end product photography. Clean editorial layout with elegant typography: large "
            "headline at top reading 'LUMIÈRE NOIR', smaller tagline below reading 'The Night, Distilled', and a minimal "
            "footer line reading 'EAU DE PARFUM'. Sophisticated black, champagne gold, and deep amber color palette. "
            "Ultra-detailed label design, accurate lettering, luxurious branding, magazine-quality composition, premium "
            "commercial aesthetic, balanced negative space, sharp focus, realistic materials, refined art direction."),
        "negativePrompt": (
            "misspelled text, distorted bottle, duplicate objects, cluttered layout, warped typography, low contrast, "
            "blurry image, low detail, extra props, watermark, logo errors"),
    },
}


def reference_image(folder: str | Path) -> Path:
    """The demo's own edit reference: a street with an empty billboard, drawn once with Pillow
    (kept afterwards, so its content hash, and with it the cells' identity, stays the same)."""
    from PIL import Image, ImageDraw

    path = Path(folder) / "billboard-reference.png"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = 768, 512
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    for y in range(h):  # dusk sky fading into the street
        t = y / h
        draw.line([(0, y), (w, y)], fill=(int(40 + 90 * t), int(50 + 70 * t), int(90 + 40 * t)))
    for i, (x, bw, bh) in enumerate([(0, 150, 300), (140, 120, 360), (600, 168, 330), (520, 90, 250)]):
        draw.rectangle([x, h - 120 - bh, x + bw, h - 120], fill=(55 + 10 * i, 58 + 8 * i, 70 + 6 * i))
        for wy in range(h - 110 - bh, h - 130, 28):
            for wx in range(x + 12, x + bw - 12, 26):
                draw.rectangle([wx, wy, wx + 10, wy + 14], fill=(200, 180, 110) if (wx + wy) % 3 else (60, 60, 70))
    draw.rectangle([0, h - 120, w, h], fill=(48, 48, 52))  # the street
    for x in range(0, w, 80):
        draw.rectangle([x + 10, h - 62, x + 50, h - 56], fill=(220, 220, 200))
    draw.rectangle([300, 380, 312, h - 120], fill=(90, 90, 95))  # posts
    draw.rectangle([456, 380, 468, h - 120], fill=(90, 90, 95))
    draw.rectangle([250, 200, 518, 382], fill=(235, 235, 230), outline=(30, 30, 30), width=6)  # the empty billboard
    img.save(path, format="PNG", optimize=False)
    return path


def demo_sweep(folder: str | Path) -> Sweep:
    """The demo's sweep: 4 examples x promptExtend x 2 sizes x negative prompt on/off x 2 repeats."""
    examples: dict[str, Request] = {}
    for label, spec in EXAMPLES.items():
        task: dict[str, Any] = {"taskType": "imageInference", "taskUUID": new_task_uuid(), "model": MODEL, "positivePrompt": spec["positivePrompt"],
                                "negativePrompt": spec["negativePrompt"]}
        if spec.get("reference"):
            # top-level referenceImages, as the page's example sends it (accepted with a negativePrompt)
            task["referenceImages"] = [str(reference_image(folder))]
        examples[label] = Request.from_task(task)
    return Sweep(
        model=MODEL,
        axes={
            "example": examples,
            "promptExtend": [True, False],
            "size": ["1024x1536", "1536x1024"],
            "negative": {"with": {}, "without": {"negativePrompt": None}},
        },
        repeats=2,
    )


@dataclass
class DemoResult:
    """What the demo did: the experiment, the cells it sent this time, and the files it wrote."""

    experiment: Any
    sent: int
    grids: list[Path]
    data_dir: Path
    refetched: int = 0  # done cells whose lost images this run asked the server for (free)
    lost: int = 0       # of those, the ones it could not give back

    def summary(self, command: str = "qwenlab") -> str:
        """What the demo did, in a few lines; `command` is how the commands it suggests are typed
        (`.venv/bin/qwenlab` where the virtualenv is not activated)."""
        exp = self.experiment
        c = exp.counts()
        lines = [
            f"qwenlab demo: {c['done']}/{count_of(c['cells'], 'cell')} done, {count_of(c['images'], 'image')}, {format_usd(exp.cost)} "
            f"(emulated: the offline emulator charges the real price, but no money moves)",
            f"  sent this run: {count_of(self.sent, 'cell')}" + ("" if self.sent else " (everything was already done: nothing sent twice)"),
            *([f"  fetched again (free): the lost images of {count_of(self.refetched, 'done cell')}"
               + (f"; {self.lost} could not be (lost for good)" if self.lost else "")] if self.refetched else []),
            f"  log:    {exp.log.path}    ({command} logs {exp.name}  |  {command} datasette: the log in Datasette with thumbnails)",
            f"  images: {self.data_dir / 'images'}",
            "  grids:  " + "\n          ".join(str(p) for p in self.grids),
        ]
        if c["failed"] or c["pending"] or c["in_doubt"]:
            lines.append(f"  some cells are not done; run `{command} demo` again to finish them")
        return "\n".join(lines)


def run_demo(data_dir: str | Path | None = None, *, live: bool = False, base_url: str | None = None,
             api_key: str | None = None, concurrency: int = 4, progress: bool = True) -> DemoResult:
    """Run (or resume) the demo experiment; offline unless `live=True` (then RUNWARE_API_KEY pays).

    base_url: an emulator to use instead of the embedded one (tests pass their own).
    """
    api_key = as_secret(api_key)

    if data_dir is None:

        data_dir = default_dir()
    folder = Path(data_dir)
    images = folder / "images"
    made: list[RunwareClient] = []

    def make_client() -> RunwareClient:  # only when something is to be sent
        if live:
            client = connect(api_key=api_key, base_url=base_url, images_dir=images)
        else:
            url = base_url
            if url is None:

                url = start_embedded().url
            # the embedded emulator is known for what it is; one at a given URL says so when it answers
            client = RunwareClient(api_key or EMULATOR_KEY, url, images_dir=images,
                                   backend="emulator" if base_url is None else None)
            if not client.is_emulator:
                raise ValueError(f"the offline demo needs an emulator on loopback, not {url}; pass live=True for the real API")
            print(f"qwenlab demo: offline, against the emulator at {url} (synthetic images, emulated costs)", file=sys.stderr)
        made.append(client)
        return client

    lab = Lab(folder, client=make_client)
    try:
        sweep = demo_sweep(folder / "demo")
        before = {r["cell_key"]: r["status"] for r in _tasks(lab)}
        exp = lab.run(sweep, name=DEMO_NAME, concurrency=concurrency, progress=progress)
        after = lab.log.tasks(exp.id)
        sent = sum(1 for r in after if r["sent_at"] and before.get(r["cell_key"]) != "done")
        grids = exp.grid(rows="promptExtend", cols="size", page="example", path=folder / "grids" / "demo.png")
        return DemoResult(exp, sent, grids, folder, lab.last_refetched, lab.last_lost)
    finally:
        for client in made:
            client.close()


def _tasks(lab: Any) -> list[dict[str, Any]]:
    row = lab.log.experiment(DEMO_NAME)
    return lab.log.tasks(row["id"]) if row else []
