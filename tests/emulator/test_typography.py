"""The emulator's imperfect text: a deterministic, documented, request-dependent misspelling rate
(synthetic behaviour, so that text scores can be told apart from a constant)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from qwenlab.emulator.synthetic import Scene, headlines, render
from qwenlab.emulator.typography import (
    mentions_text_flaws,
    misspell,
    misspell_probability,
)
from qwenlab.typography.scoring import normalize

PROMPT = "A poster for 'LUNE NOIRE' with 'Midnight Bloom Eau de Parfum' and a seal 'EST. 1928'"
BASE = Scene(prompt=PROMPT, width=512, height=768, seed=0, key="k", negative_prompt=None, prompt_extend=False)


def test_the_documented_rule():
    # the module docstring's worked examples
    assert misspell_probability("LUNE NOIRE", 87, prompt_extend=False, negative_prompt=None) == pytest.approx(0.075)
    assert misspell_probability("Midnight Bloom Eau de Parfum", 51, prompt_extend=False, negative_prompt=None) == pytest.approx(0.30)
    helped = misspell_probability("Midnight Bloom Eau de Parfum", 51, prompt_extend=True, negative_prompt="misspelled words")
    assert helped == pytest.approx(0.30 * 0.6 * 0.5)
    assert misspell_probability("x" * 200, 8, prompt_extend=False, negative_prompt=None) == 0.85  # capped


def test_more_errors_for_long_strings_and_small_text_fewer_with_help():
    p = lambda text="Radiance Serum", px=40, extend=False, neg=None: misspell_probability(  # noqa: E731
        text, px, prompt_extend=extend, negative_prompt=neg)
    assert p(text="Radiance Renewal Serum Deluxe") > p() > p(text="Serum")
    assert p(px=20) > p() > p(px=60)
    assert p(extend=True) < p()
    assert p(neg="blurry text, misspelled words") < p(neg="cartoon style, extra limbs") == p()


@pytest.mark.parametrize("negative, flagged", [
    ("distorted text, misspelled words", True), ("blurry text", True), ("typos", True), ("garbled letters", True),
    ("gibberish", True), ("bad typography", True), ("blurry product, cheap design", False), (None, False), ("", False)])
def test_which_negative_prompts_count_as_asking_for_clean_text(negative, flagged):
    assert mentions_text_flaws(negative) is flagged


def test_a_misspelling_is_one_edit_that_always_changes_the_letters():
    for i in range(300):
        text = random.Random(i).choice(["LUNE NOIRE", "EST. 1928", "Midnight Bloom Eau de Parfum", "Glow, Refined.", "30 ml", "A"])
        wrong = misspell(text, random.Random(f"m{i}"))
        assert normalize(wrong) != normalize(text), (text, wrong)
        assert abs(len(wrong) - len(text)) <= 1
    assert misspell("...", random.Random(0)) == "..."   # nothing to misspell


def test_the_same_request_and_seed_misspell_the_same_way():
    assert headlines(BASE) == headlines(dataclasses.replace(BASE))
    assert render(BASE).tobytes() == render(dataclasses.replace(BASE)).tobytes()


def _rate(**changes) -> tuple[float, float]:
    """Observed and predicted misspelling rate of the second string over 400 seeds."""
    drawn = [headlines(dataclasses.replace(BASE, seed=s, **changes))[1] for s in range(400)]
    return sum(h.misspelled for h in drawn) / len(drawn), drawn[0].misspell_probability


def test_the_observed_rate_follows_the_rule_and_the_request():
    plain, p_plain = _rate()
    helped, p_helped = _rate(prompt_extend=True, negative_prompt="distorted text, misspelled words")
    small, p_small = _rate(width=256, height=384)
    assert p_helped < p_plain < p_small
    for observed, predicted in ((plain, p_plain), (helped, p_helped), (small, p_small)):
        assert abs(observed - predicted) < 0.07, (observed, predicted)   # 400 draws: ~3 sd at p=0.3
    assert helped < plain < small


def test_seeds_vary_which_images_are_misspelled():
    outcomes = {tuple(h.drawn for h in headlines(dataclasses.replace(BASE, seed=s))) for s in range(60)}
    assert len(outcomes) > 2   # not a constant: some images right, some wrong in different ways


def test_headlines_report_what_is_drawn():
    scene = next(dataclasses.replace(BASE, seed=s) for s in range(200)
                 if any(h.misspelled for h in headlines(dataclasses.replace(BASE, seed=s))))
    drawn = headlines(scene)
    assert [h.expected for h in drawn] == ["LUNE NOIRE", "Midnight Bloom Eau de Parfum", "EST. 1928"]
    assert all(h.px > 0 and 0 < h.misspell_probability < 1 for h in drawn)
    assert any(h.drawn != h.expected and normalize(h.drawn) != normalize(h.expected) for h in drawn)
    assert headlines(dataclasses.replace(scene, nsfw=True)) == []
