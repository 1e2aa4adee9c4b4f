"""Entity linking: the catalog's models, families, devices and API models named in free text, plus engines,
formats, KV-cache types, licences and benchmarks.

Everything is built from the catalog in use at run time (names, aliases, repo ids), never from a
hard-coded list, so a model added to ``catalog/data`` is understood at once. Typos in name words are
corrected with rapidfuzz ("lamma" -> "llama", "mistrall" -> "mistral"); numbers never are. A mention
is matched exactly, or by its parts with their roles: a version ("Llama *3.1*") must be a version of
the model and a size ("*8B*") its size, so "Gemma 4" never becomes Gemma 3 4B: it is an unknown
name, with the catalog's closest names as suggestions. A mention that fits several models ("Qwen
32B") is ambiguous and carries them, so the driver can ask which one.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from catalog.query import normalize
from tools.common import catalog, per_catalog

_TOKEN = re.compile(r"\d+(?:\.\d+)*|[a-z]+")
LOOSE = {"instruct", "chat", "it", "hf", "base", "meta", "model", "the", "nvidia", "geforce", "version", "preview"}
SIZE_UNITS = {"b": 1.0, "m": 0.001}
# Unknown names looked up for suggestions per message (each once, though a message may be scanned twice): a message
# of hundreds of near misses cost a catalog-wide fuzzy comparison each (14-27 s for 8,000 characters, issue 29).
# Names past the cap are still unknown, with no suggestions.
MAX_SUGGESTED = 8
# Words never corrected towards a name: ordinary words a few letters away from one.
NOT_NAMES = {
    "larger",
    "smaller",
    "faster",
    "cheaper",
    "better",
    "model",
    "models",
    "mode",
    "media",
    "llamas",
    "phil",
    "game",
    "games",
    "mini",
    "minis",
    "command",
    "commands",
    "commercial",
    "coder",
    "coding",
    "quest",
    "queen",
    "small",
    "large",
    "medium",
    "open",
    "opens",
    "mixed",
    "mistake",
    "gamma",
    "chat",
    "chats",
    "plus",
    "graph",
    "grant",
    "falcon",
    "where",
    "which",
    "there",
    "these",
    "those",
    "their",
    "other",
    "about",
    "would",
    "could",
    "should",
    "apple",
    "orange",
    "black",
    "share",
    "spark",
    "ultra",
    "studio",
    "pixel",
    "ollama",
    "vllm",
    "sglang",
    "exllama",
    "tensorrt",
    "speed",
    "need",
    "needs",
    "seed",
    "fast",
    "cost",
    "price",
    "memory",
}


# words of devices' names that name no device by themselves: memory types, sockets, form factors
NOT_DEVICE_WORDS = frozenset(
    {"ddr", "lpddr", "gddr", "hbm", "mrdimm", "dual", "single", "socket", "server", "desktop", "pc", "cpu", "gb"}
    | {"ai", "project", "with", "x", "and", "the", "of", "e", "g", "pro", "max", "ultra", "mini", "super"}
)


@dataclass
class Mention:
    """One name in the text: resolved (``id``), ambiguous (``candidates``) or unknown (``suggestions``)."""

    kind: str  # model, family, gpu, api, engine, quantization, kv_cache, license, benchmark
    text: str
    start: int  # span in the prepared text
    end: int
    id: str | None = None
    candidates: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    count: int | None = None  # GPUs: how many were stated with the name ("two 4090s")
    plural: bool = False  # "H100s" with no number

    @property
    def status(self) -> str:
        return "ok" if self.id else ("ambiguous" if self.candidates else "unknown")


@dataclass
class _ModelShape:
    id: str
    heads: set[str]  # first words of its names ("llama", "qwen")
    words: set[str]
    versions: set[str]
    sizes: set[float]
    params_b: float
    minimal_words: set[str]  # the words of its shortest name
    minimal_versions: set[str] = field(default_factory=set)  # the versions of its shortest name


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _shape(tokens: list[str]) -> tuple[set[str], set[str], set[float]]:
    """(words, versions, sizes in B) of a token sequence: a number followed by 'b' or 'm' is a size."""
    words, versions, sizes = set(), set(), set()
    for i, tok in enumerate(tokens):
        if tok[0].isdigit():
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if nxt in SIZE_UNITS and not (i > 0 and tokens[i - 1] == "a"):
                try:
                    sizes.add(float(tok) * SIZE_UNITS[nxt])
                except ValueError:
                    versions.add(tok)
            elif nxt == "x":
                words.add(tok + "x")  # "8x7b": an expert count, part of the name
            elif not (i > 0 and tokens[i - 1] == "a" and nxt in SIZE_UNITS):
                versions.add(tok)
        elif tok not in SIZE_UNITS or i == 0 or not tokens[i - 1][0].isdigit():
            if tok not in LOOSE:
                words.add(tok)
    return words, versions, sizes


class Linker:
    """Built once per catalog: exact name keys, model shapes, the vocabulary for typo correction."""

    def __init__(self, cat) -> None:
        self.cat = cat
        self._local = threading.local()  # one linker serves every thread; each scan keeps its own breaks
        self.keys: dict[tuple[str, ...], tuple[str, str]] = {}  # token key -> (kind, id); first claim wins
        self.shapes: list[_ModelShape] = []
        heads = self._index_models(cat)
        for f in cat.families.values():
            for name in (f.id, f.name):
                self._claim(tuple(normalize(name).split()), "family", f.id)
        self._index_gpus(cat)
        self._index_apis(cat)
        self.lineages = {}
        for f in sorted(cat.families.values(), key=lambda f: f.generation):
            self.lineages[f.lineage] = f.id  # "the llama family": its latest family stands for the lineage
        self.model_heads = {h for h in heads if len(h) >= 2 and h.isalpha()}
        self.shapes_by_head: dict[str, list[_ModelShape]] = {}  # the shapes match_shape looks at for a first word
        for shape in self.shapes:
            for head in shape.heads:
                self.shapes_by_head.setdefault(head, []).append(shape)
        self.vocab = sorted({t for key in [*self.keys, *self.api_keys] for t in key if t.isalpha() and len(t) >= 3})
        self.vocab_set = set(self.vocab)
        self.max_len = max([len(k) for k in [*self.keys, *self.api_keys]] + [1])

    def _index_models(self, cat) -> set[str]:
        """Claim every model's names (and their loose forms), record its shape; return the first words of the names."""
        from catalog.loader import model_names

        heads: set[str] = set()
        for m in cat.models.values():
            names = [n for n in model_names(m) if n]
            token_lists = [normalize(n).split() for n in names]
            for toks in token_lists:
                self._claim(tuple(toks), "model", m.id)
                loose = tuple(t for t in toks if t not in LOOSE)
                if len(loose) >= 2:
                    self._claim(loose, "model", m.id)
            words, versions, sizes = set(), set(), set()
            model_heads = set()
            minimal = None
            minimal_versions: set[str] = set()
            for toks in token_lists:
                w, v, s = _shape(toks)
                words |= w
                versions |= v
                sizes |= s
                first = next((t for t in toks if t not in LOOSE), None)
                if first:
                    model_heads.add(first)
                if minimal is None or (len(w), len(v)) < (len(minimal), len(minimal_versions)):
                    minimal, minimal_versions = w, v
            heads |= model_heads
            self.shapes.append(
                _ModelShape(m.id, model_heads, words, versions, sizes, m.params_b, minimal or set(), minimal_versions)
            )
        return heads

    def _index_gpus(self, cat) -> None:
        """Claim every device's names, with and without the vendor's words; the first words are GPU heads."""
        self.gpu_heads: set[str] = set()
        self.gpu_words: dict[str, set[str]] = {}  # a word of a device's names -> the devices that have it
        for g in cat.gpus.values():
            for name in [g.id, g.name, *g.aliases]:
                toks = normalize(name).split()
                self._claim(tuple(toks), "gpu", g.id)
                while toks and toks[0] in ("nvidia", "geforce", "amd", "apple", "intel"):
                    toks = toks[1:]
                    self._claim(tuple(toks), "gpu", g.id)
                if toks and toks[0].isalpha() and len(toks[0]) >= 2:
                    self.gpu_heads.add(toks[0])
                for k, tok in enumerate(toks):
                    if tok == "gb" or (k + 1 < len(toks) and toks[k + 1] == "gb"):
                        continue  # a memory size is a variant's, not the device's name
                    self.gpu_words.setdefault(tok, set()).add(g.id)

    def _index_apis(self, cat) -> None:
        """Proprietary APIs by name, and a name without its version for the newest of it."""
        self.api_keys: dict[tuple[str, ...], str] = {}
        short: dict[tuple[str, ...], set[str]] = {}
        for p in cat.prices.values():
            if p.kind != "proprietary":
                continue
            for name in (p.model_name, p.id.split("/", 1)[-1], f"{p.provider} {p.model_name}"):
                key = tuple(normalize(name).split())
                self.api_keys.setdefault(key, p.id)
                bare = tuple(t for t in key if not t[0].isdigit())
                if len(bare) >= 2:
                    short.setdefault(bare, set()).add(p.id)
        for key, ids in short.items():
            # "Claude Sonnet" with no version: the newest of that name
            self.api_keys.setdefault(
                key, max(ids, key=lambda i: [float(x) for x in re.findall(r"\d+(?:\.\d+)?", i)] or [0.0])
            )

    def _claim(self, key: tuple[str, ...], kind: str, ident: str) -> None:
        if key:
            self.keys.setdefault(key, (kind, ident))

    # -------------------------------------------------------------- typo correction

    def correct(self, toks: list[str]) -> list[str]:
        from rapidfuzz import fuzz, process

        out = list(toks)
        for i, tok in enumerate(toks):
            if not tok.isalpha() or len(tok) < 4 or tok in self.vocab_set or tok in NOT_NAMES:
                continue
            hit = process.extractOne(tok, self.vocab, scorer=fuzz.ratio, score_cutoff=80)
            if not hit:
                continue
            word, score, _ = hit
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            beside_name = nxt[:1].isdigit() or nxt in self.vocab_set
            if (score >= 80 and beside_name) or (score >= 88 and len(tok) >= 6):
                out[i] = word
        return out

    # -------------------------------------------------------------- models by their parts

    def match_shape(self, toks: list[str]) -> list[str]:
        """Models whose names hold every word, version and size of ``toks`` (a span starting with a name word)."""
        words, versions, sizes = _shape(toks)
        if not (versions or sizes):
            return []
        head = toks[0]
        hits = []
        for s in self.shapes_by_head.get(head, ()):
            if not words <= s.words or not versions <= s.versions:
                continue
            if sizes and not all(
                any(abs(x - y) <= 0.05 * y for y in s.sizes) if s.sizes else abs(x - s.params_b) <= 0.12 * max(x, 0.1)
                for x in sizes
            ):
                continue
            hits.append(s)
        if len(hits) > 1:
            plain = [s for s in hits if s.minimal_words <= words]  # "Qwen2.5 32B" is not the Coder
            if plain:
                hits = plain
        if len(hits) > 1:
            exact = [s for s in hits if s.minimal_versions <= versions]  # "Qwen3 4B" is not the 2507 refresh
            if len(exact) == 1:
                hits = exact
        return sorted(s.id for s in hits)

    def in_context(self, prepared: str, taken: list[tuple[int, int]], focus: list[str]) -> tuple[str, int, int] | None:
        """A model named only by what tells it from the models in focus: "and 4.7?" after GLM-4.5-Air, "the 0528 one"
        after DeepSeek-R1, "the mini reasoning one" after Phi-4, "the 14b qwen" after Qwen3 32B.

        The models looked at are those of the focus models' lineages. The message's versions, sizes and the name
        words of a model's lineage (spans in ``taken`` left out: other names, figures) must all be in its names, and
        one of them must be new to the models in focus. Among several, the one with fewest words of other lineages,
        of a family in focus, keeping most words of the focus model's names, adding the fewest words and versions,
        wins; a tie is no answer. Returns (model id, start, end of the words used)."""
        cat = self.cat
        fam_of = {m: cat.models[m].family for m in focus if m in cat.models}
        lineages = {cat.families[f].lineage for f in fam_of.values() if f in cat.families}
        lineage_of = {
            s.id: cat.families[cat.models[s.id].family].lineage
            for s in self.shapes
            if s.id not in fam_of and s.id in cat.models and cat.models[s.id].family in cat.families
        }
        pool = [s for s in self.shapes if lineage_of.get(s.id) in lineages]
        vocab: dict[str, set[str]] = {}
        for s in pool:
            vocab.setdefault(lineage_of[s.id], set()).update(s.words)
        spans = _name_tokens(prepared, taken, set().union(*vocab.values()) if vocab else set())
        words, versions, sizes = _shape([t for t, _, _ in spans])
        known = [s for s in self.shapes if s.id in fam_of]
        old_words = set().union(*(s.words for s in known)) if known else set()
        old_versions = set().union(*(s.versions for s in known)) if known else set()
        old_sizes = set().union(*(s.sizes for s in known)) if known else set()
        if words <= old_words and versions <= old_versions and sizes <= old_sizes:
            return None  # nothing that tells another model from those in focus (or nothing at all)
        hits = []
        for s in pool:
            own = words & vocab[lineage_of[s.id]]  # a word of another lineage's names ("moe") does not count here
            if not own <= s.words or not versions <= s.versions:
                continue
            if sizes and not all(any(abs(x - y) <= 0.05 * y for y in s.sizes or {s.params_b}) for x in sizes):
                continue
            kept = max(len(k.words & s.words) for k in known)  # "the reasoning one" after Phi-4-mini stays a mini
            rank = (
                len(words - own),
                cat.models[s.id].family not in fam_of.values(),
                -kept,
                len(s.minimal_words - words - old_words),
                len(s.minimal_versions - versions - old_versions),
                len(s.words - words - old_words),
            )
            hits.append((rank, s.id))
        hits.sort()
        if not hits or (len(hits) > 1 and hits[0][0] == hits[1][0]):
            return None
        return hits[0][1], spans[0][1], spans[-1][2]

    # -------------------------------------------------------------- scanning

    def split_compounds(self, prepared: str) -> str:
        """'gptoss 20b' -> 'gpt oss 20b', 'deepseekr1' -> 'deepseek r1': a word glued from two name words."""

        def fix(m: re.Match) -> str:
            word = m.group(0)
            if word in self.vocab_set or len(word) < 5:
                return word
            for cut in range(2, len(word) - 1):
                a, b = word[:cut], word[cut:]
                if a in self.vocab_set and (b in self.vocab_set or (len(b) == 1 and b.isalpha())) and len(a) >= 3:
                    return f"{a} {b}"
            return word

        return re.sub(r"[a-z]+", fix, prepared)

    def link(self, prepared: str) -> list[Mention]:
        spans = _tokens(prepared)
        raw = [t for t, _, _ in spans]
        # a comma, semicolon, slash or bracket between two tokens ends a name ("llama 2, llama 3")
        self._local.breaks = {
            i
            for i in range(1, len(spans))
            if re.search(r"[,;/()&|!?$€£%]|\.\s", prepared[spans[i - 1][2] : spans[i][1]])
        }
        self._local.next_break = _next_breaks(self._local.breaks, len(spans))
        self._local.suggested = {}  # this message's lookups, at most MAX_SUGGESTED
        toks = self.correct(raw)
        if toks == raw:
            return self._scan(raw, spans, prepared)
        # a correction stands only where it completes a catalog name ("lamma 3.1" yes, "speed" -> "seed" no)
        found = self._scan(toks, spans, prepared)
        for k in [k for k in range(len(raw)) if toks[k] != raw[k]]:
            if not any(m.id and m.start <= spans[k][1] < m.end for m in found):
                toks[k] = raw[k]
        return self._scan(toks, spans, prepared)

    def _scan(self, toks: list[str], spans, prepared: str) -> list[Mention]:
        out: list[Mention] = []
        i = 0
        while i < len(toks):
            m = self._at(toks, spans, i, prepared)
            if m is None:
                m = self._elliptical(toks, spans, i, prepared, out)
            if m is None:
                i += 1
                continue
            mention, n = m
            out.append(mention)
            i += n
        return out

    def _elliptical(self, toks, spans, i: int, text: str, found: list[Mention]) -> tuple[Mention, int] | None:
        """'Mistral Small 3.1 or 3.2', 'Llama 3 vs 3.1': a bare version after a model stands for that model's
        sibling."""
        if not toks[i][0].isdigit() or i < 2 or toks[i - 1] not in ("or", "vs", "versus", "to", "and"):
            return None
        if i + 1 < len(toks) and toks[i + 1] in (
            "k",
            "m",
            "b",
            "million",
            "billion",
            "thousand",
            "gb",
            "users",
            "tokens",
            "x",
            "gpus",
        ):
            return None  # "... and 2 million users": a figure, not a version
        prev = next((m for m in reversed(found) if m.kind in ("model", "family") and m.id), None)
        if prev is None or spans[i][1] - prev.end > 12:
            return None
        base = [t for t, _, _ in _tokens(text[prev.start : prev.end])]
        numbers = [
            k for k, t in enumerate(base) if t[0].isdigit() and not (k + 1 < len(base) and base[k + 1] in SIZE_UNITS)
        ]
        if not numbers:
            return None
        candidate = base[: numbers[-1]] + [toks[i]] + base[numbers[-1] + 1 :]
        start, end, written = self._span(spans, i, 1, text)
        key = tuple(candidate)
        hit = self.keys.get(key) or self.keys.get(tuple(t for t in key if t not in LOOSE))
        if hit and hit[0] in ("model", "family"):
            return Mention(hit[0], written, start, end, id=hit[1]), 1
        ids = self.match_shape(candidate)
        if len(ids) == 1:
            return Mention("model", written, start, end, id=ids[0]), 1
        return None

    def _span(self, spans, i: int, n: int, text: str) -> tuple[int, int, str]:
        start, end = spans[i][1], spans[i + n - 1][2]
        return start, end, text[start:end]

    def _at(self, toks: list[str], spans, i: int, text: str) -> tuple[Mention, int] | None:
        limit = min(self.max_len, len(toks) - i)
        limit = min(limit, self._local.next_break[i] - i)  # a name ends at a break
        for n in range(limit, 0, -1):
            key = tuple(toks[i : i + n])
            if key in self.api_keys and (n > 1 or key[0] in ("o3", "o4")):
                start, end, written = self._span(spans, i, n, text)
                return Mention("api", written, start, end, id=self.api_keys[key]), n
            hit = self.keys.get(key)
            if hit is None:
                continue
            kind, ident = hit
            if kind == "gpu":
                if n == 1 and len(key[0]) <= 2 and key[0].isalpha():
                    continue  # "a", "l4"-style single letters only as part of a longer name
                return self._gpu(toks, spans, i, n, ident, text), n
            if (
                kind == "model"
                and n == 1
                and toks[i] in ("command", "yi")
                and not (i + 1 < len(toks) and toks[i + 1][0].isdigit())
            ):
                continue
            # a name followed by more of a name ("gemma" + "4", "qwen 3" + "27b"): try the whole run first
            run = self._name_run(toks, i)
            if run > n:
                longer = self._by_shape(toks, spans, i, run, text)
                # the longer reading wins when it resolves, names a version the catalog lacks, or narrows a family
                if longer is not None and longer[1] > n and (not longer[0].candidates or kind == "family"):
                    return longer
            return self._resolved(kind, ident, spans, i, n, text), n
        if toks[i] in self.lineages and not (i + 1 < len(toks) and toks[i + 1][0].isdigit()):
            start, end, written = self._span(spans, i, 1, text)
            return Mention("family", written, start, end, id=self.lineages[toks[i]]), 1
        if toks[i] in self.model_heads:
            run = self._name_run(toks, i)
            if run >= 2:
                got = self._by_shape(toks, spans, i, run, text)
                if got is not None:
                    return got
        partial = self._device_by_words(toks, spans, i, text)
        if partial is not None:
            return partial
        unit = i > 0 and toks[i - 1][0].isdigit() and toks[i] in ("gb", "tb", "gib")  # "the 32GB one": memory
        if (
            toks[i] in self.gpu_heads
            and i + 1 < len(toks)
            and toks[i + 1][0].isdigit()
            and len(toks[i]) >= 2
            and not unit
        ):
            start, end, written = self._span(spans, i, 2, text)
            return Mention("gpu", written, start, end, suggestions=self.suggest(written, 4, kind="gpu")), 2
        return None

    def _device_by_words(self, toks: list[str], spans, i: int, text: str) -> tuple[Mention, int] | None:
        """A device named by some of its words ("a jetson orin"): the devices whose names hold every word of the run;
        one resolves, several are the candidates to ask about (their variants differ in memory or kind)."""
        if toks[i] not in self.gpu_heads or not toks[i].isalpha() or len(toks[i]) < 3 or toks[i] in NOT_DEVICE_WORDS:
            return None
        j = i
        while (
            j < len(toks)
            and toks[j] in self.gpu_words
            and toks[j] not in NOT_DEVICE_WORDS
            and (j == i or j not in self._local.breaks)
        ):
            j += 1
        run = toks[i:j]
        if not run:
            return None
        ids = set.intersection(*(self.gpu_words[t] for t in run))
        if not ids or len(ids) > 4:
            return None  # "mac", "rtx", "mac studio": a product line, too many devices to ask about
        start, end, written = self._span(spans, i, len(run), text)
        if len(ids) == 1:
            return self._gpu(toks, spans, i, len(run), next(iter(ids)), text), len(run)
        return Mention("gpu", written, start, end, candidates=sorted(ids)), len(run)

    def _name_run(self, toks: list[str], i: int) -> int:
        """Length of the run of name-like tokens from i: name words, numbers, single letters."""
        j = i
        while j < len(toks):
            t = toks[j]
            if j > i and (j in self._local.breaks or t == toks[i]):
                break
            if t[0].isdigit() or t in self.vocab_set or (len(t) == 1 and t.isalpha()) or t in LOOSE:
                if t in LOOSE and t in ("the", "model"):
                    break
                j += 1
                continue
            break
        # a run ends before a GPU name that follows it ("llama 3 8b 4090")
        for k in range(i + 1, j):
            if self.keys.get((toks[k],), ("",))[0] == "gpu" and toks[k][0].isdigit():
                return k - i
        return j - i

    def _by_shape(self, toks, spans, i: int, run: int, text: str) -> tuple[Mention, int] | None:
        for n in range(run, 1, -1):
            part = toks[i : i + n]
            if not any(t[0].isdigit() for t in part[1:]):
                break
            ids = self.match_shape(part)
            if not ids:
                continue
            start, end, written = self._span(spans, i, n, text)
            _, versions, _ = _shape(part)
            unversioned = not versions and all(s.versions for s in self.shapes if s.id in ids)
            if len(ids) == 1 and not unversioned:
                return Mention("model", written, start, end, id=ids[0]), n
            return Mention("model", written, start, end, candidates=ids), n  # "Qwen 7B": which Qwen?
        # a versioned name the catalog lacks: "gemma 4", "qwen 3.5 27b", "deepseek v3.2"
        head_key = (toks[i],)
        fam = self.keys.get(head_key)
        n = run
        part = toks[i : i + n]
        exact_prefix = max((k for k in range(1, n + 1) if tuple(part[:k]) in self.keys), default=0)
        if exact_prefix == n:
            return None
        if exact_prefix and not any(t[0].isdigit() for t in part[exact_prefix:]):
            return None  # only words follow the name ("llama instruct"): the exact name stands
        if fam is None and toks[i] not in self.model_heads:
            return None
        if not any(t[0].isdigit() for t in part[1:]):
            return None  # only versioned names are names ("open weights" is not one)
        start, end, written = self._span(spans, i, n, text)
        return Mention("model", written, start, end, suggestions=self.suggest(written)), n

    def suggest(self, written: str, n: int = 4, kind: str = "model") -> list[str]:
        """Closest catalog names to an unknown one, from the catalog's own lookup (for the question, never taken as
        the answer: a lookup that resolves it offers that one as a suggestion only). Within one :meth:`link`, each
        name is looked up once and at most MAX_SUGGESTED names are; the rest get none."""
        done: dict[tuple[str, int, str], list[str]] | None = getattr(self._local, "suggested", None)
        if done is None:
            return self._lookup(written, n, kind)
        key = (written, n, kind)
        if key not in done and len(done) < MAX_SUGGESTED:
            done[key] = self._lookup(written, n, kind)
        return done.get(key, [])

    def _lookup(self, written: str, n: int, kind: str) -> list[str]:
        from catalog.query import LookupFailed

        lookup = self.cat.model if kind == "model" else self.cat.gpu
        try:
            return [lookup(written).id]
        except LookupFailed as exc:
            return list(exc.suggestions)[:n]
        except Exception:  # a lookup that fails otherwise offers nothing
            return []

    def _resolved(self, kind: str, ident: str, spans, i: int, n: int, text: str) -> Mention:
        start, end, written = self._span(spans, i, n, text)
        return Mention(kind, written, start, end, id=ident)

    def _gpu(self, toks: list[str], spans, i: int, n: int, ident: str, text: str) -> Mention:
        start, end, written = self._span(spans, i, n, text)
        count = _count_before(toks, i)
        if count is None:
            count = _count_after(toks, i + n)
        plural = i + n < len(toks) and toks[i + n] == "s" and spans[i + n][1] == end
        if plural:
            end = spans[i + n][2]
        return Mention("gpu", written, start, end, id=ident, count=count, plural=plural and count is None)


def _name_tokens(prepared: str, taken: list[tuple[int, int]], vocab: set[str]) -> list[tuple[str, int, int]]:
    """The tokens of a message that may be parts of a model's name: numbers (a small whole number only glued to a
    letter or before a size), words of the names in ``vocab``, a letter glued to a number ("v3.2", "a4b") or after
    one ("14b"); none inside ``taken``; "one" (read as 1) left out."""
    spans: list[tuple[str, int, int]] = []
    tokens = _tokens(prepared)
    for k, (t, a, b) in enumerate(tokens):
        if any(x <= a < y for x, y in taken):
            continue
        glued = k + 1 < len(tokens) and tokens[k + 1][0][0].isdigit() and tokens[k + 1][1] == b
        if len(t) == 1 and t.isalpha() and not glued:
            if not (t in SIZE_UNITS and spans and spans[-1][0][0].isdigit() and spans[-1][2] == a):
                continue
        after = tokens[k + 1][0] if k + 1 < len(tokens) else ""
        glued_before = k > 0 and tokens[k - 1][2] == a and tokens[k - 1][0].isalpha()
        if t.isdigit() and len(t) < 3 and not glued_before and after not in SIZE_UNITS:
            continue  # "only four of them": a small whole number alone is a count, not a version ("4.7", "0528" are)
        if t[0].isdigit() or t in vocab or t in SIZE_UNITS:
            spans.append((t, a, b))
    if re.search(r"\bone\b|\b1\s*\??$", prepared):
        spans = [x for x in spans if x[0] != "1"]  # "the 0528 one": "one" reads as a figure
    return spans


def _next_breaks(breaks: set[int], n: int) -> list[int]:
    """For each token i, the first break after it (n if none): looked up once per token instead of walking every
    break (quadratic in a long message full of commas)."""
    out, nxt = [n] * (n + 1), n
    for i in range(n - 1, -1, -1):
        if i + 1 in breaks:
            nxt = i + 1
        out[i] = nxt
    return out


def _count_before(toks: list[str], i: int) -> int | None:
    for back in (1, 2, 3):
        if i - back < 0:
            return None
        t = toks[i - back]
        if t.isdigit() and 0 < int(t) <= 4096:
            return int(t)
        if t not in ("x", "nvidia", "rtx", "geforce", "of", "the", "amd", "gpus", "cards", "apple"):
            return None
    return None


def _count_after(toks: list[str], j: int) -> int | None:
    """'H100 x 8', 'A100 x4', '4090 (x2)'."""
    if j + 1 < len(toks) and toks[j] == "x" and toks[j + 1].isdigit() and 0 < int(toks[j + 1]) <= 4096:
        return int(toks[j + 1])
    if j < len(toks) and re.fullmatch(r"x\d+", toks[j] or ""):
        return int(toks[j][1:])
    return None


@per_catalog
def _linker(cat) -> Linker:
    return Linker(cat)


def linker() -> Linker:
    """The linker of the catalog in use (built once per catalog)."""
    return _linker()


def link(prepared: str) -> list[Mention]:
    """Catalog names in a prepared text (see advisor.nlu.quantities.prepare)."""
    return linker().link(prepared)


def model_name(model_id: str) -> str:
    cat = catalog()
    return cat.models[model_id].name if model_id in cat.models else model_id
