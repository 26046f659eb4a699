"""Scores of the text in one image, as the text-rendering benchmarks define them.

    score = score_text(["LUNE NOIRE", "Midnight Bloom Eau de Parfum"], reading)   # or a list of strings
    score.word_accuracy, score.ned, score.sentence_accuracy, score.correct
    score.missing          # expected strings not read exactly
    score.read_instead     # {expected: what was read in its place}

Definitions (after AnyText's and CVTG-2K's evaluations; their OCR is PP-OCR, as RapidOCR's is):

- Normalisation (`normalization.py`: `words`, `normalize`): Unicode NFKC, case folded; apostrophes
  dropped ("don't" -> "dont"); a point, comma or colon between two digits kept, the comma as a
  point ("$29.99" -> "29.99", which is not "2999": a price misprinted; "1,299" -> "1.299";
  "10:30"); every other character that is not a letter, digit or combining mark becomes a space.
  Words are what is left between spaces; each CJK character is a word of its own (the katakana
  middle dot ・ is punctuation). Accents on Latin letters are folded ("LUMIÈRE" = "LUMIERE",
  "ØRESUND" = "ORESUND", "Œuvre" = "OEuvre"): the PP-OCR models RapidOCR ships lack most accented
  letters in their alphabet, so with accents kept an accented string could never be read right and
  every image asking for 'LUMIÈRE NOIR' would score as wrong whatever it showed. The price: a
  model that drops an accent is not caught.
- Word accuracy: the share of expected words (over all expected strings) read exactly. For a
  string found in the image (best NED >= 0.5, below), a word is read when its letters align one
  to one, spaces ignored, within the string's best-matching run (`aligned_words`): PP-OCR's
  recogniser often drops the spaces of Latin text ("MidnightBloomEaudeParfum"), and a dropped
  space is the OCR's error, not the image's. For a string not found as a run, the benchmarks'
  rule: each of its words found among the words read elsewhere, each word read counting once
  (a multiset match). Judging found strings within their own run, rather than against every
  word in the image, keeps a misspelled "Honye" from being credited by a correct "Honey" in
  another line.
- Before that, in both texts, I/l and O/0 count as the same character where the word's other
  characters settle which is meant ("LUMlERE" = "LUMIERE", "0rganic" = "Organic", "2O24" =
  "2024", "O2" = "02": in a number one digit settles it; `unconfuse`): the OCR confuses them,
  and in many fonts so would a reader. A lone 1 has no other characters to settle it: a word
  read as a lone "l" or "I" counts as "1" for an expected string with a lone 1 and no lone l or
  I of its own, where that reads the string better ("PLATFORM 1" read "PLATFORM l"; RapidOCR
  reads a 1 so in some fonts), and only then: "11", "l1", "lst" or a 7 read for a 1 stay
  misreadings (`ones_read_as_l`).
- NED, per expected string: 1 - edit distance / max length, against the best-matching run of
  consecutive words read (in reading order, so a string wrapped on two lines is found whole).
  Spaces are not compared, for the same reason. The image's NED is the mean over its strings.
  Each string is found in words of its own: a run found (NED >= 0.5) is claimed, the longest
  strings first, and no other string is read from it. Else 'LUMIERE' and 'LUMIERE Night Serum'
  asked for were both read from one 'LUMIERE Night Serum', and a 'Gollden' beside 'Golden LUNE'
  was credited with the Golden of the other.
- Sentence accuracy (AnyText's Sen.ACC): the share of expected strings read exactly (NED = 1).
  An image is `correct` when every expected string is read exactly.
- Each string's status: "exact"; "misread" (best NED >= 0.5: `read` is what stood in its place);
  "missing" (nothing read is even half like it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from .normalization import is_cjk as _is_cjk
from .normalization import normalize, unconfuse, words
from .reading import Reading, TextLine, in_reading_order

__all__ = ["normalize", "words", "edit_distance", "ned", "StringScore", "TextScore", "score_text",
           "MISREAD_AT_LEAST", "SCORING_VERSION", "aligned_words",
           "unconfuse", "score_figure", "ones_read_as_l"]

MISREAD_AT_LEAST = 0.5   # below this best NED a string counts as missing, not misread
SCORING_VERSION = 10     # bump when a definition changes: stored scores are then recomputed


def score_figure(value: float) -> str:
    """A score in [0, 1] to two decimals, as every view prints it, but never "1.00" for a score
    short of 1 nor "0.00" for one above 0 ("0.99", "0.01"): rounded, the NED of an image with one
    letter wrong in four strings, or the mean of eight images one of which was misread, read
    "1.00", which says all the text came out right."""
    v = float(value)
    text = f"{v:.2f}"
    if text == "1.00" and v < 1.0:
        return "0.99"
    if text == "0.00" and v > 0.0:
        return "0.01"
    return text


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def ned(expected: str, read: str) -> float:
    """1 - edit distance / max length between two texts, normalised and without spaces.
    1.0 is identical; 0.0 shares nothing. Two empty texts are identical."""
    a, b = "".join(words(expected)), "".join(words(read))
    if not a and not b:
        return 1.0
    return 1.0 - edit_distance(a, b) / max(len(a), len(b))


@dataclass(frozen=True)
class StringScore:
    """How one expected string was read."""

    expected: str
    read: str | None          # the best-matching text read (raw, as the OCR gave it), or None
    ned: float
    words: int                # expected words in this string
    words_read: int           # of which read exactly
    lines: tuple[int, ...] = ()  # indices (in the reading's order) of the lines `read` came from
    word_hits: tuple[bool, ...] = ()  # per expected word: read exactly?

    @property
    def exact(self) -> bool:
        return self.ned >= 1.0

    @property
    def status(self) -> str:
        """'exact', 'misread' or 'missing'."""
        if self.exact:
            return "exact"
        return "misread" if self.ned >= MISREAD_AT_LEAST else "missing"

    def to_dict(self) -> dict[str, Any]:
        return {"expected": self.expected, "read": self.read, "ned": self.ned, "words": self.words,
                "words_read": self.words_read, "status": self.status, "lines": list(self.lines),
                "word_hits": list(self.word_hits)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StringScore":
        return cls(d["expected"], d.get("read"), float(d["ned"]), int(d["words"]), int(d["words_read"]),
                   tuple(d.get("lines") or ()), tuple(bool(x) for x in d.get("word_hits") or ()))


@dataclass(frozen=True)
class TextScore:
    """The scores of one image against its expected strings."""

    strings: tuple[StringScore, ...] = ()
    read_text: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def expected(self) -> list[str]:
        return [s.expected for s in self.strings]

    @property
    def words(self) -> int:
        return sum(s.words for s in self.strings)

    @property
    def words_read(self) -> int:
        return sum(s.words_read for s in self.strings)

    @property
    def word_accuracy(self) -> float | None:
        """Share of expected words read exactly (None when nothing is expected)."""
        return self.words_read / self.words if self.words else None

    @property
    def ned(self) -> float | None:
        """Mean NED over the expected strings (None when nothing is expected)."""
        return sum(s.ned for s in self.strings) / len(self.strings) if self.strings else None

    @property
    def sentence_accuracy(self) -> float | None:
        """Share of expected strings read exactly (None when nothing is expected)."""
        return sum(s.exact for s in self.strings) / len(self.strings) if self.strings else None

    @property
    def correct(self) -> bool | None:
        """Every expected string read exactly (None when nothing is expected)."""
        return all(s.exact for s in self.strings) if self.strings else None

    @property
    def missing(self) -> list[str]:
        """Expected strings not read exactly."""
        return [s.expected for s in self.strings if not s.exact]

    @property
    def read_instead(self) -> dict[str, str]:
        """Expected string -> what was read in its place, for strings misread (not missing)."""
        return {s.expected: s.read for s in self.strings if s.status == "misread" and s.read is not None}

    def summary(self) -> str:
        """One line: word accuracy, NED, and what went wrong."""
        if not self.strings:
            return "no expected text"
        parts = [f"word accuracy {score_figure(self.word_accuracy)}, NED {score_figure(self.ned)}"]  # type: ignore[arg-type]
        for s in self.strings:
            if s.status == "misread":
                parts.append(f"{s.expected!r} read as {s.read!r}")
            elif s.status == "missing":
                parts.append(f"{s.expected!r} missing")
        return "; ".join(parts)

    def __repr__(self) -> str:
        return f"TextScore({self.summary()})"


@dataclass
class _Token:
    word: str
    line: int
    raw: int  # index of the raw (whitespace-separated) word of all lines it came from


def _tokens(lines: Sequence[str]) -> tuple[list[_Token], list[str]]:
    tokens: list[_Token] = []
    raws: list[str] = []
    for li, line in enumerate(lines):
        for raw in line.split():
            for w in words(raw):
                tokens.append(_Token(w, li, len(raws)))
            raws.append(raw)
    return tokens, raws


def score_text(expected: Iterable[str], read: Reading | Sequence[TextLine | str]) -> TextScore:
    """Score what was read against the expected strings (see the module docstring).

    `read` is a Reading, or lines (TextLine or plain strings) in reading order.
    """
    expected = [e for e in expected if words(e)]
    if isinstance(read, Reading):
        lines = [line.text for line in in_reading_order(read.lines)]
    else:
        items = list(read)
        if all(isinstance(x, TextLine) for x in items):
            items = [line.text for line in in_reading_order(items)]  # type: ignore[arg-type]
        lines = [str(x) for x in items]
    tokens, raws = _tokens(lines)
    # each string found claims its run of what was read, the longest strings first, so that one
    # 'LUMIERE Night Serum' read does not stand for both it and a 'LUMIERE' asked for beside it
    runs: list[tuple[float, int, int]] = [(0.0, 0, 0)] * len(expected)
    taken: set[int] = set()
    seen = [tokens] * len(expected)  # what was read, as each string reads it (a lone l as its lone 1)
    for k in sorted(range(len(expected)), key=lambda k: -len("".join(words(expected[k])))):
        runs[k] = _best_run(expected[k], tokens, taken)
        if ones_read_as_l(words(expected[k])):
            # read as a 1 only where that reads the string better: an l the OCR split off a word
            # ("HAL l 1" for "HALL 1") stays an l
            ones = [_Token("1", t.line, t.raw) if t.word in ("l", "i") else t for t in tokens]
            if (as_ones := _best_run(expected[k], ones, taken))[0] > runs[k][0]:
                runs[k], seen[k] = as_ones, ones
        best, start, end = runs[k]
        if best >= MISREAD_AT_LEAST:
            taken.update(range(start, end))
    found = [best >= MISREAD_AT_LEAST for best, _, _ in runs]
    # strings found as a run are judged word by word within it; the others by the benchmarks'
    # multiset match over the words read outside those runs
    pool = Counter(t.word for k, t in enumerate(tokens) if k not in taken)
    strings = []
    for text, (best, start, end), f, own in zip(expected, runs, found, seen):
        read_text = " ".join(raws[own[start].raw: own[end - 1].raw + 1]) if end > start else None
        used = tuple(sorted({t.line for t in own[start:end]}))
        if f:
            hits = tuple(aligned_words(text, " ".join(t.word for t in own[start:end])))
        else:
            ones = ones_read_as_l(words(text))
            hits = tuple(_take(pool, w) or (w == "1" and ones and (_take(pool, "l") or _take(pool, "i")))
                         for w in words(text))
        strings.append(StringScore(text, read_text, best, len(hits), sum(hits), used, hits))
    return TextScore(tuple(strings), "\n".join(lines))


def ones_read_as_l(expected_words: Sequence[str]) -> bool:
    """Whether a word read as a lone "l" or "I" counts as "1" for a string of these normalised
    words: it has a lone 1 and no lone l or I (nor i: the words are case folded) of its own.
    RapidOCR reads a lone 1 as l or I in some fonts, and no other character of the word settles
    which was drawn (as `unconfuse` does for "LUMlERE" or "2O24"); where the string asks for a
    lone l or I too ("I ♥ 1"), the read l or I is taken as it is."""
    return "1" in expected_words and "l" not in expected_words and "i" not in expected_words


def _take(pool: Counter, word: str) -> bool:
    if pool[word] > 0:
        pool[word] -= 1
        return True
    return False


def aligned_words(expected: str, read: str) -> list[bool]:
    """For each word of `expected`: is it read exactly in `read`, letters aligned one to one,
    spaces ignored? (So "MidnightBloomEaudePhrfum" reads Midnight, Bloom, Eau and de, not Parfum.)

    An extra character read between two expected words counts against the one it was read
    glued to ("oceans Spring": Ocean); when it is glued to both or neither, against the one
    whose edge it repeats ("Eauu": Eau), else against both."""
    ws = words(expected)
    if not ws:
        return []
    read_words = words(read)
    a, b = "".join(ws), "".join(read_words)
    owner = [k for k, w in enumerate(ws) for _ in w]           # expected char -> its word
    token = [k for k, w in enumerate(read_words) for _ in w]   # read char -> its word
    # Levenshtein table, then optimal edit scripts traced back from the end
    n, m = len(a), len(b)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    # Of the equally short edit scripts, two traced back from the end: one that aligns
    # characters first, one that leaves expected characters unread first. A read cut short at
    # the end ("Midnight Bloom" for "Midnight Bloom Eau de Parfum") is aligned right by the
    # second (the first matched Bloom's final m to Parfum's), one that lost the start ("EDITION"
    # for "LIMITED EDITION") by the first: the script that credits more words is kept.
    return max((_traced(d, a, b, ws, owner, token, unread_first) for unread_first in (False, True)), key=sum)


def _traced(d: list[list[int]], a: str, b: str, ws: list[str], owner: list[int], token: list[int],
            unread_first: bool) -> list[bool]:
    """The words of `a` read exactly in one optimal edit script of `a` into `b` (see
    `aligned_words`), traced back through the table `d`."""
    ok = [True] * len(ws)
    n, m = len(a), len(b)
    starts = {sum(len(w) for w in ws[:k]): k for k in range(1, len(ws))}
    in_token: dict[int, set[int]] = {}      # read word -> expected words aligned into it
    between: list[tuple[int, int]] = []     # (expected position, read position) of extras at word edges
    i, j = n, m
    while i > 0 or j > 0:
        unread = i > 0 and d[i][j] == d[i - 1][j] + 1
        aligned = i > 0 and j > 0 and d[i][j] == d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
        if unread and (unread_first or not aligned):
            ok[owner[i - 1]] = False  # an expected character not read
            i -= 1
        elif aligned:
            in_token.setdefault(token[j - 1], set()).add(owner[i - 1])
            if a[i - 1] != b[j - 1]:
                ok[owner[i - 1]] = False
            i, j = i - 1, j - 1
        else:  # a character read that is not expected, just before expected position i
            if i in starts:
                between.append((i, j - 1))
            else:
                ok[owner[min(i, n - 1)]] = False
            j -= 1
    for i, j in between:
        left, right = starts[i] - 1, starts[i]
        glued = in_token.get(token[j], set()) & {left, right}
        if len(glued) == 1:
            blame = glued
        else:
            blame = {k for k, edge in ((left, a[i - 1]), (right, a[i])) if edge == b[j]} or {left, right}
        for k in blame:
            ok[k] = False
    return ok


def _best_run(expected: str, tokens: list[_Token], taken: "set[int] | frozenset[int]" = frozenset()) -> tuple[float, int, int]:
    """(best NED, start, end) over runs of consecutive tokens none of which is in `taken` (claimed
    by another string); (0.0, 0, 0) when nothing was read."""
    target = "".join(words(expected))
    n_words = len(words(expected))
    # letter-spaced type ("S  A  L  E") is read a letter or two a word: a token of such a streak
    # (two or more tokens of one or two letters in a row; not digits, nor CJK, whose every
    # character is a word) widens a run by one
    single = [len(t.word) <= 2 and t.word.isalpha() and not any(_is_cjk(c) for c in t.word) for t in tokens]
    spaced = [single[k] and ((k > 0 and single[k - 1]) or (k + 1 < len(tokens) and single[k + 1]))
              for k in range(len(tokens))]
    best, best_span = 0.0, (0, 0)
    for start in range(len(tokens)):
        if start in taken:
            continue
        joined = ""
        widened = 0
        for end in range(start + 1, len(tokens) + 1):
            if end - 1 in taken:
                break
            # a run spans the string's words and two more, one more for each letter-spaced token
            # in it, and never more tokens than the string has letters (and two)
            widened += spaced[end - 1]
            if end - start > min(n_words + 2 + widened, len(target) + 2):
                break
            joined += tokens[end - 1].word
            longest = max(len(target), len(joined))
            # the length difference alone bounds NED from above: skip what cannot win
            if 1.0 - abs(len(target) - len(joined)) / longest <= best:
                if len(joined) > len(target):
                    break
                continue
            score = 1.0 - edit_distance(target, joined) / longest
            if score > best:
                best, best_span = score, (start, end)
                if best >= 1.0:
                    return best, start, end
    return best, best_span[0], best_span[1]
