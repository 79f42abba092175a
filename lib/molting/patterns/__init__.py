"""The named library of agent-like patterns, shared by curation (filtering) and evaluation (scoring)."""

from __future__ import annotations

import difflib
import functools
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Iterable, Literal

import yaml
from pydantic import AfterValidator, Field

from molting.errors import ParamsError, yaml_syntax_fix
from molting.validation import Invalid, Strict, Text, items, validate

__all__ = [
    "CATEGORIES",
    "OPT_IN_CATEGORIES",
    "Pattern",
    "PatternHit",
    "PatternLibrary",
    "branch_clauses",
    "check_examples",
    "default_library_path",
    "load_library",
    "load_patterns",
    "pattern_states",
    "required_clauses",
    "scan_counts",
]

CATEGORIES: tuple[str, ...] = (
    "ai_self_reference",
    "disclaimer",
    "tool_narration",
    "planning_meta",
    "status_report",
    "refusal",
    "meta_leakage",
    "assistant_boilerplate",
    "persona_format",
)
# Categories that are agent-like only for some personas (a coding helper's replies are full of code fences):
# off unless a version switches them on with curate.patterns_enabled.
OPT_IN_CATEGORIES: tuple[str, ...] = ("persona_format",)

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
# Curly apostrophes/quotes are read as straight ones and no-break spaces as spaces, so one regex covers
# both spellings. Every replacement is one character for one, so match offsets stay valid on the original.
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"',
                         "\u00a0": " ", "\u202f": " "})
# Texts a pattern is tried on at load time: a regex that matches nothing (zero width) here would flag everything.
_EMPTY_PROBES = ("", "x", "Hello there.\nA second line.")
_I_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i"})
_MAX_EXACT = 256  # most alternative strings tracked for one part of a regex
_MAX_CLASS = 16  # most characters a character class may stand for and still count as known
_MIN_LITERAL = 2  # single letters and common words occur everywhere: requiring them only costs time
_GOOD_LITERAL = 6  # required strings this long are selective enough; beyond it, fewer strings is better
_MAX_LITERAL = 12  # required strings are cut to this length (their prefix is required as well)
_MAX_COMBOS = 16  # most clauses one alternation may expand into
_COMMON_PUNCT = frozenset(".,;:!?'\"-()")  # punctuation too common in prose to be a useful required string

try:  # CPython's regex parser, used only to derive the literal pre-check
    import re._constants as _C  # type: ignore[import-not-found]
    import re._parser as _PARSER  # type: ignore[import-not-found]
except ImportError:  # Python 3.10
    try:
        import sre_constants as _C  # type: ignore[no-redef]
        import sre_parse as _PARSER  # type: ignore[no-redef]
    except ImportError:
        _C = _PARSER = None  # type: ignore[assignment]
_REPEATS = tuple(getattr(_C, n) for n in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(_C, n))


@dataclass(frozen=True)
class Pattern:
    """One named agent-like pattern with its self-test examples."""

    name: str
    category: str
    description: str
    regex: re.Pattern[str]
    must_match: tuple[str, ...]
    must_not_match: tuple[str, ...]
    source: str  # file it came from, so errors and reports can point at it

    @property
    def on_by_default(self) -> bool:
        """Whether the pattern runs without being named in curate.patterns_enabled."""
        return self.category not in OPT_IN_CATEGORIES


@dataclass(frozen=True)
class PatternHit:
    """Where one pattern matched in a text (`text[start:end] == matched`)."""

    rule: str
    category: str
    start: int
    end: int
    matched: str


def _normalise(text: str) -> str:
    """Straighten curly quotes and no-break spaces without changing the text's length."""
    return text.translate(_QUOTES)


# --- Literal pre-check --------------------------------------------------------------------------------
# Running ~40 regexes over every position of every text is the slow part of filtering 100k chats. From each
# compiled regex we derive "clauses": sets of literal strings, one of which must occur in any text the regex
# matches. One pass of a trie-shaped finder over the case-folded text then tells which patterns can match at
# all; only those run. The clauses are necessary conditions only, so skipping never changes a result.
# Kept over Hyperscan's prefilter mode (hyperscan 0.9.1, 89 patterns, 62.7k sample/labelled texts, same run):
# it leaves 1.6 candidate patterns per text to Hyperscan's 6.4, so `first()` takes 2.4 s to its 4.2 s, and
# Hyperscan needs 385 s to compile the library with Unicode \w and \b (HS_FLAG_UCP), which `re` semantics need.


def _fold(text: str) -> str:
    """Case-fold for the pre-check; dotted and dotless i fold to i because `(?i)i` matches both."""
    return text.translate(_I_FOLD).casefold()


# Words in almost every reply: a required string that is only one of these selects nothing, whatever its length.
_COMMON_WORDS = frozenset(
    "i|i'm|i've|i'll|i'd|i am|i have|i will|me|my|you|your|you're|the|a|an|and|or|but|so|to|of|in|on|at|for|with"
    "|that|this|it|it's|is|are|was|were|be|been|all|not|done|can't|don't|let me|let's|here|here's|there|what|when|how"
    .split("|"))


def _strength(literal: str) -> int:
    """How selective a required string is: its length, but symbols like # or ✅ are rare in prose even alone,
    and a string that is just a common word (" your ", "i've") counts as weak."""
    if literal and not any(c.isalnum() or c.isspace() or c in _COMMON_PUNCT for c in literal):
        return _GOOD_LITERAL
    if "\n" in literal and literal.strip() and not any(c.isalnum() for c in literal):
        return _GOOD_LITERAL  # punctuation at a line end (":\n", "**\n"): formatting, rare in chat
    if literal.strip(" ,.!?") in _COMMON_WORDS:
        return 1
    return len(literal)


def _char_strings(items: list[tuple[Any, Any]]) -> set[str] | None:
    """The folded characters a small positive character class can match, or None if unknown or large."""
    chars: set[str] = set()
    for op, av in items:
        if op is _C.LITERAL:
            codes = [av]
        elif op is _C.RANGE and av[1] - av[0] < _MAX_CLASS:
            codes = list(range(av[0], av[1] + 1))
        else:
            return None  # negated classes, \w, \s, big ranges: anything could match
        for code in codes:
            c = chr(code)
            # Non-ASCII cased letters may match other characters under (?i) in ways casefold() does not mirror.
            if not c.isascii() and not (c.lower() == c.upper() == c.casefold() == c):
                return None
            chars.add(_fold(c))
    return chars if len(chars) <= _MAX_CLASS else None


def _clause(strings: set[str] | None) -> frozenset[str] | None:
    """A requirement tidied for the finder, or None if it requires nothing useful."""
    if not strings or "" in strings:
        return None
    # A prefix of a required string is required too: cutting strings short merges near-duplicates.
    cut = {x[:_MAX_LITERAL] for x in strings}
    # A string that contains another one adds nothing: if it occurs, so does the shorter one.
    lean = frozenset(x for x in cut if not any(y != x and y in x for y in cut))
    return lean if min(map(_strength, lean)) >= _MIN_LITERAL else None


def _selectivity(clause: frozenset[str]) -> tuple[int, int]:
    """Sort key: long weakest string first (up to a point), then few strings."""
    return min(_GOOD_LITERAL, *map(_strength, clause)), -len(clause)


Analysis = tuple[set[str] | None, list[frozenset[str]]]  # (every string it can match, or None; clauses)


def _either(parts: list[Analysis]) -> list[frozenset[str]]:
    """Clauses of an alternation: whichever branch matched, one clause of each branch holds."""
    per = [sorted({c for c in [_clause(e), *cs] if c is not None}, key=_selectivity, reverse=True) for e, cs in parts]
    if not all(per):
        return []  # a branch that requires nothing makes the whole alternation require nothing
    if math.prod(len(p) for p in per) > _MAX_COMBOS:
        per = [p[:1] for p in per]
    # (a1 and a2) or (b1) == (a1 or b1) and (a2 or b1): one clause per combination.
    combos = [_clause(set().union(*combo)) for combo in itertools.product(*per)]
    return [c for c in combos if c is not None]


def _node(op: Any, av: Any) -> Analysis:
    """Analysis of one parsed regex node."""
    if op is _C.LITERAL:
        return _char_strings([(op, av)]), []
    if op is _C.IN:
        return _char_strings(av), []
    if op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
        return {""}, []  # zero width: adds no characters to the match
    if op is _C.SUBPATTERN:
        return _seq(av[-1])
    if op is getattr(_C, "ATOMIC_GROUP", object()):
        return _seq(av)
    if op is _C.BRANCH:
        parts = [_seq(branch) for branch in av[1]]
        exacts = [e for e, _ in parts]
        exact = set().union(*exacts) if all(e is not None for e in exacts) else None
        if exact is not None and len(exact) > _MAX_EXACT:
            exact = None
        return exact, _either(parts)
    if op in _REPEATS:
        low, high, sub = av
        exact, clauses = _seq(sub)
        if low == 0:
            return ((exact | {""}) if exact is not None and high == 1 else None), []
        if low == high == 1:
            return exact, clauses
        return None, [c for c in [_clause(exact), *clauses] if c is not None]  # at least one copy matches
    return None, []  # any character, backreferences, conditionals: nothing is known


def _seq(items: Any) -> Analysis:
    """Analysis of a sequence of nodes: runs of exactly-known nodes join into required strings."""
    run: set[str] = {""}
    whole = True
    clauses: list[frozenset[str]] = []
    for op, av in items:
        exact, inner = _node(op, av)
        clauses.extend(inner)
        if exact is not None and len(run) * len(exact) <= _MAX_EXACT:
            run = {a + b for a in run for b in exact}
            continue
        clauses.extend(c for c in [_clause(run)] if c is not None)  # contiguous text every match contains
        whole = False
        run = set(exact) if exact is not None and len(exact) <= _MAX_EXACT else {""}
    if whole:
        return run, clauses
    return None, clauses + [c for c in [_clause(run)] if c is not None]


def _sorted_clauses(exact: set[str] | None, clauses: list[frozenset[str]]) -> tuple[frozenset[str], ...]:
    """A node's requirements, most selective first."""
    found = [c for c in [_clause(exact), *clauses] if c is not None]
    return tuple(sorted(set(found), key=_selectivity, reverse=True))


def required_clauses(regex: re.Pattern[str]) -> tuple[frozenset[str], ...]:
    """Sets of folded strings such that every text the regex matches contains one string of each set."""
    if _PARSER is None:
        return ()
    try:
        return _sorted_clauses(*_seq(_PARSER.parse(regex.pattern, regex.flags)))
    except Exception:  # the parser is CPython-internal: if it changes, lose speed, never correctness
        return ()


def _top_branches(items: Any) -> list[Any]:
    """The alternatives of a regex whose whole body is one alternation (groups around it unwrapped), else [body]."""
    items = list(items)
    while len(items) == 1 and items[0][0] is _C.SUBPATTERN:
        items = list(items[0][1][-1])
    # The parser moves a prefix shared by every alternative (often \b) in front of the alternation.
    if items and items[-1][0] is _C.BRANCH and all(op in (_C.AT, _C.LITERAL, _C.IN) for op, _ in items[:-1]):
        return [items[:-1] + list(b) for branch in items[-1][1][1] for b in _top_branches(branch)]
    return [items]


def branch_clauses(regex: re.Pattern[str]) -> tuple[tuple[frozenset[str], ...], ...]:
    """Per top-level alternative of the regex, the clauses it requires (a text the regex matches meets all
    clauses of at least one alternative). Keeping alternatives apart keeps each one's requirements precise."""
    return _branch_clauses(regex.pattern, regex.flags)


@functools.lru_cache(maxsize=1024)
def _branch_clauses(pattern: str, flags: int) -> tuple[tuple[frozenset[str], ...], ...]:
    """branch_clauses by source (cached: every library built in a process analyses the same regexes)."""
    if _PARSER is None:
        return ((),)
    try:
        return tuple(_sorted_clauses(*_seq(branch)) for branch in _top_branches(_PARSER.parse(pattern, flags)))
    except Exception:  # the parser is CPython-internal: if it changes, lose speed, never correctness
        return ((),)


class _Prefilter:
    """Tells, per text, which patterns can possibly match, from the strings each of their alternatives requires."""

    def __init__(self, per_pattern: list[tuple[tuple[frozenset[str], ...], ...]]):
        import ahocorasick  # one pass over a text finds every required string: 3.5x faster than a trie regex here

        # One unit per top-level alternative of a pattern: the pattern may match if any of its units holds.
        self._owner = [i for i, branches in enumerate(per_pattern) for _ in branches]
        self._clauses = [cs for branches in per_pattern for cs in branches]
        self._always = sorted({self._owner[u] for u, cs in enumerate(self._clauses) if not cs})
        self._by_key: dict[str, list[int]] = {}  # string -> units whose most selective clause holds it
        for u, cs in enumerate(self._clauses):
            for x in cs[0] if cs else ():
                self._by_key.setdefault(x, []).append(u)
        self._finder = ahocorasick.Automaton()
        for x in {x for cs in self._clauses for c in cs for x in c}:
            self._finder.add_word(x, x)
        if len(self._finder):
            self._finder.make_automaton()

    def candidates(self, norm: str) -> list[int]:
        """Indexes, in library order, of the patterns that may match the normalised text."""
        if not len(self._finder):
            return self._always
        found = {x for _, x in self._finder.iter(_fold(norm))}
        keyed = {u for x in found for u in self._by_key.get(x, ())}
        ok = {self._owner[u] for u in keyed if all(not c.isdisjoint(found) for c in self._clauses[u][1:])}
        return sorted(ok.union(self._always))


class PatternLibrary:
    """A loaded set of patterns: scan texts for hits, or ask whether a text is agent-like at all."""

    def __init__(self, patterns: Iterable[Pattern]):
        self.patterns: list[Pattern] = list(patterns)
        self._prefilter = _Prefilter([branch_clauses(p.regex) for p in self.patterns])

    @property
    def names(self) -> list[str]:
        """Pattern names in library order."""
        return [p.name for p in self.patterns]

    def __len__(self) -> int:
        return len(self.patterns)

    def _hit(self, index: int, text: str, start: int, end: int) -> PatternHit:
        """A hit for pattern `index`, quoting the original (not normalised) text."""
        p = self.patterns[index]
        return PatternHit(rule=p.name, category=p.category, start=start, end=end, matched=text[start:end])

    def scan(self, text: str) -> list[PatternHit]:
        """Every hit of every pattern, ordered by start (then library order)."""
        norm = _normalise(text)
        found: list[tuple[int, int, PatternHit]] = []
        for i in self._prefilter.candidates(norm):
            for m in self.patterns[i].regex.finditer(norm):
                if m.end() > m.start():  # zero-width matches say nothing (and are rejected at load)
                    found.append((m.start(), i, self._hit(i, text, m.start(), m.end())))
        found.sort(key=lambda t: (t[0], t[1]))
        return [hit for _, _, hit in found]

    def first(self, text: str) -> PatternHit | None:
        """The earliest hit (ties go to library order), or None if the text is not agent-like."""
        norm = _normalise(text)
        best: tuple[int, int, int] | None = None  # (start, index, end)
        for i in self._prefilter.candidates(norm):
            for m in self.patterns[i].regex.finditer(norm):
                if m.end() > m.start():
                    if best is None or m.start() < best[0]:
                        best = (m.start(), i, m.end())
                    break
        return None if best is None else self._hit(best[1], text, best[0], best[2])

    def by_category(self) -> dict[str, list[str]]:
        """Pattern names grouped by category, categories in their canonical order."""
        out: dict[str, list[str]] = {c: [] for c in CATEGORIES}
        for p in self.patterns:
            out.setdefault(p.category, []).append(p.name)
        return {c: names for c, names in out.items() if names}


def default_library_path() -> Path:
    """The shipped library file (package data next to this module)."""
    return Path(__file__).resolve().parent / "agent_like.yaml"


def _bad(source: str, where: str, what: str, fix: str) -> ParamsError:
    """A ParamsError that names the file and the pattern."""
    return ParamsError(what, where=f"{source}: {where}" if where else source, fix=fix)


def _read_yaml(path: Path) -> Any:
    """Parse one pattern file, turning I/O and YAML errors into ParamsError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _bad(str(path), "", "pattern file not found",
                   "check the path given in curate.patterns_extra") from None
    except OSError as exc:
        raise _bad(str(path), "", f"cannot read pattern file ({exc})", "check the file's permissions") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _bad(str(path), "", f"is not valid YAML: {exc}",
                   yaml_syntax_fix(str(exc), "fix the YAML syntax; quote regexes with single quotes and double any ' "
                                             "inside")) from None


def _snake_case(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise Invalid(f"{name!r} is not snake_case", fix="use lowercase letters, digits and underscores, starting with a letter")
    return name


Name = Annotated[str, AfterValidator(_snake_case)]


class _Entry(Strict):
    name: Name = Field(description="snake_case, unique across the library")
    category: Literal[CATEGORIES] = Field(description="the kind of agent-like text it catches")
    description: Text = Field(description="one line: what the pattern catches and why it is agent-like")
    regex: Text = Field(description="a Python regular expression; {{name}} inserts a vocabulary")
    must_match: list[str] = Field(min_length=1, description="texts the pattern must find")
    must_not_match: list[str] = Field(description="texts it must leave alone (may be [])")


class _File(Strict):
    vocabulary: dict[Name, Annotated[list[Text], Field(min_length=1)]] = Field(
        {}, description="named lists of regex fragments that regexes use as {{name}}")
    patterns: list[_Entry] = items("pattern", key="name", description="the patterns, each starting `- name: ...`")


_VOCAB_REF = re.compile(r"\{\{\s*([A-Za-z0-9_]*)\s*\}\}")


def _expand(regex: str, vocabulary: dict[str, str], source: str, where: str) -> str:
    """The regex with each `{{name}}` replaced by that vocabulary's alternation."""
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in vocabulary:
            close = difflib.get_close_matches(name, list(vocabulary), n=1)
            hint = f"did you mean {{{{{close[0]}}}}}? " if close else ""
            raise _bad(source, where, f"unknown vocabulary {{{{{name}}}}} in `regex`",
                       f"{hint}use one of the names under `vocabulary:` ({', '.join(sorted(vocabulary)) or 'none defined'})")
        return vocabulary[name]

    return _VOCAB_REF.sub(sub, regex)


def _alternations(vocabulary: dict[str, list[str]], source: str, known: dict[str, str]) -> dict[str, str]:
    """A file's vocabulary (name -> regex fragments) as name -> one non-capturing alternation."""
    out: dict[str, str] = {}
    for name, words in vocabulary.items():
        where = f"vocabulary {name!r}"
        if name in known:
            raise _bad(source, where, "duplicate vocabulary name (already defined in the shipped library)",
                       "choose another name; the shipped vocabularies can be used as they are")
        for word in words:
            try:
                compiled = re.compile(word)
            except re.error as exc:
                raise _bad(source, where, f"entry {word!r} does not compile: {exc}",
                           "fix the regex fragment, or escape special characters with \\") from None
            if compiled.groups:
                raise _bad(source, where, f"entry {word!r} has a capturing group", "write (?:...) instead of (...)")
            if compiled.fullmatch(""):
                raise _bad(source, where, f"entry {word!r} can match empty text",
                           "make every entry require at least one character")
        # longest first, so that a regex engine trying alternatives in order prefers "pull request" to "pull"
        out[name] = "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"
    return out


def _compiled(entry: _Entry, source: str, vocabulary: dict[str, str]) -> Pattern:
    """An entry's regex, expanded and compiled, as a Pattern; a regex that can match empty text is an error."""
    where = f"pattern {entry.name}"
    try:
        regex = re.compile(_expand(entry.regex, vocabulary, source, where))
    except re.error as exc:
        raise _bad(source, where, f"regex does not compile: {exc}",
                   "fix the regular expression (Python `re` syntax; in single-quoted YAML write '' for ')") from None
    for probe in _EMPTY_PROBES:
        m = regex.search(probe)
        if m is not None and m.end() == m.start():
            raise _bad(source, where, "regex can match empty text, so it would flag every reply",
                       "make the regex require at least one character")
    return Pattern(name=entry.name, category=entry.category, description=entry.description, regex=regex,
                   must_match=tuple(entry.must_match), must_not_match=tuple(entry.must_not_match), source=source)


def _load_file(path: Path, shipped_vocabulary: dict[str, str] | None = None) -> tuple[list[Pattern], dict[str, str]]:
    """All patterns of one YAML file, validated, and the vocabulary it defines.

    A file is either a list of patterns, or a mapping with `patterns:` (that list) and `vocabulary:`
    (named word lists that regexes use as {{name}}). Extra files may use the shipped vocabulary.
    """
    data = _read_yaml(path)
    if data is None or isinstance(data, list):
        data = {"patterns": data}
    if isinstance(data, dict) and not data.get("patterns"):
        raise _bad(str(path), "", "must be a YAML list of patterns (or a mapping with a `patterns:` list)",
                   "start each pattern with `- name: ...` (see the shipped agent_like.yaml)")
    parsed = validate(_File, data, str(path))
    own = _alternations(parsed.vocabulary, str(path), dict(shipped_vocabulary or {}))
    vocabulary = {**(shipped_vocabulary or {}), **own}
    return [_compiled(entry, str(path), vocabulary) for entry in parsed.patterns], own


def _unknown(name: str, choices: list[str], key: str) -> ParamsError:
    """An unknown pattern (or category) name in a params list, with the closest valid one."""
    close = difflib.get_close_matches(str(name), choices, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ParamsError(f"unknown pattern {name!r} in {key.split('.')[-1]}", where=key,
                       fix=f"{hint}list the names with `molt patterns`")


def load_patterns(extra_files: Iterable[str | Path] = ()) -> list[Pattern]:
    """Every pattern of the shipped library and the extra files, on or off, in library order."""
    patterns: list[Pattern] = []
    seen: dict[str, str] = {}
    shipped, vocabulary = _load_file(default_library_path())
    files = [(default_library_path(), shipped)]
    files += [(Path(f), _load_file(Path(f), vocabulary)[0]) for f in extra_files]
    for _path, loaded in files:
        for p in loaded:
            if p.name in seen:
                raise _bad(p.source, f"pattern {p.name!r}", f"duplicate name (already defined in {seen[p.name]})",
                           "rename the pattern; to replace a shipped one, disable it and add yours under a new name")
            seen[p.name] = p.source
            patterns.append(p)
    return patterns


def pattern_states(patterns: list[Pattern], disabled: Iterable[str] = (),
                   enabled: Iterable[str] = ()) -> list[tuple[Pattern, bool]]:
    """Each pattern with whether it is on: on by default unless opt-in, `enabled` (pattern or category
    names) switches opt-in ones on, `disabled` (pattern names) switches any off and wins over `enabled`."""
    names = [p.name for p in patterns]
    categories = sorted({*CATEGORIES, *(p.category for p in patterns)})
    for name in enabled:
        if name not in names and name not in categories:
            raise _unknown(name, names + categories, "curate.patterns_enabled")
    for name in disabled:
        if name not in names:
            raise _unknown(name, names, "curate.patterns_disabled")
    on, off = set(enabled), set(disabled)
    return [(p, p.name not in off and (p.on_by_default or p.name in on or p.category in on)) for p in patterns]


def load_library(disabled: Iterable[str] = (), extra_files: Iterable[str | Path] = (),
                 enabled: Iterable[str] = ()) -> PatternLibrary:
    """The shipped library plus any extra pattern files: default patterns and the `enabled` opt-in ones
    (pattern or category names), minus the `disabled` names."""
    states = pattern_states(load_patterns(extra_files), list(disabled), list(enabled))
    return PatternLibrary(p for p, on in states if on)


def check_examples(lib: PatternLibrary) -> list[str]:
    """Every must_match example a pattern misses and every must_not_match example it hits, described."""
    problems: list[str] = []
    for p in lib.patterns:
        for text in p.must_match:
            if p.regex.search(_normalise(text)) is None:
                problems.append(f"{p.name} ({p.source}): must_match example not matched: {text!r}")
        for text in p.must_not_match:
            m = p.regex.search(_normalise(text))
            if m is not None:
                problems.append(f"{p.name} ({p.source}): must_not_match example matched "
                                f"{text[m.start():m.end()]!r} in {text!r}")
    return problems


def scan_counts(lib: PatternLibrary, texts_by_item: Iterable[tuple[str, list[str]]]) -> dict[str, dict[str, int]]:
    """Per rule, how many items (chats) it hits and how many hits it has in all, over (item id, texts) pairs."""
    counts: dict[str, dict[str, int]] = {name: {"items": 0, "hits": 0} for name in lib.names}
    for _item, texts in texts_by_item:
        hit_rules: set[str] = set()
        for text in texts:
            for hit in lib.scan(text):
                counts[hit.rule]["hits"] += 1
                hit_rules.add(hit.rule)
        for rule in hit_rules:
            counts[rule]["items"] += 1
    return counts
