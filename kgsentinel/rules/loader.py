"""Rule files: one SPARQL SELECT whose rows are violations, under a header of metadata.

A rule file (``*.rq``) starts with comment lines of the form ``# key: value``
(see :data:`HEADER_KEYS`), then holds one SELECT query. Each row the query
returns is one violation; ``subject`` names the variable holding the IRI the
violation is about, and ``message`` is the line a person reads, with
``{variable}`` filled from the row::

    # id: npi/launch-without-approval
    # title: Launch in a market without a regulatory approval
    # severity: critical
    # subject: launch
    # message: Launch {launch} in {market} has no approval
    # labels: team=regulatory, area=npi
    PREFIX npi: <urn:kgsentinel:npi:>
    SELECT ?launch ?market WHERE { ... }

The header and the query are checked when the rule is loaded, and every error
names the file, the line and the fix. The prefixes of
:data:`kgsentinel.graph.ontology.PREFIXES` (``kgs:``, ``rdfs:``, ``xsd:`` ...)
need no declaration. ``SERVICE`` clauses are refused: a rule reads the local
graph only.

Parameters are bound, never pasted: single values by the store's ``VALUES``
binding (:mod:`kgsentinel.graph.binding`), lists as a ``VALUES`` block of terms
written by pyoxigraph, both at the start of the outermost ``WHERE`` group (so a
sub-SELECT does not see them). A list parameter named under ``learn`` (one of
:data:`LEARNERS`) is learned from the data by :meth:`Rule.learned` when the
configuration gives none; the query alone, without it, sees it unbound.

Example:
    >>> rule = parse_rule('''# id: demo/unnamed
    ... # subject: product
    ... # message: Product {product} has no name
    ... SELECT ?product WHERE {
    ...   ?product a <urn:x:Product> FILTER NOT EXISTS { ?product rdfs:label ?name }
    ... }''')
    >>> rule.id, rule.severity, rule.variables
    ('demo/unnamed', 'warning', ('product',))
    >>> try:
    ...     parse_rule("# id: demo/x\\n# subjet: product\\nSELECT ?product WHERE {}", source="x.rq")
    ... except RuleError as error:
    ...     print(error)  # doctest: +NORMALIZE_WHITESPACE
    x.rq, line 2: unknown header key 'subjet' (did you mean 'subject'?); the keys are id,
    title, severity, subject, message, labels, params, optional, learn, case_id, event_id,
    activity, score, key
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kgsentinel.detectors.base import SEVERITIES
from kgsentinel.errors import QueryError, RuleError
from kgsentinel.graph.binding import _where_brace
from kgsentinel.graph.ontology import PREFIXES, prefix_header
from kgsentinel.graph.results import query_shape
from kgsentinel.graph.terms import parse_param, to_term

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.graph.results import QueryResult, Term
    from kgsentinel.graph.store import GraphStore

__all__ = [
    "BUILTIN_PREFIX",
    "HEADER_KEYS",
    "LEARNERS",
    "Learner",
    "Rule",
    "RuleError",
    "builtin_rules",
    "load_rule",
    "load_rules",
    "parse_rule",
    "service_line",
]

BUILTIN_PREFIX = "builtin:"
#: header key -> what it holds
HEADER_KEYS: dict[str, str] = {
    "id": "the rule's identifier, e.g. npi/launch-without-approval (required)",
    "title": "what the rule checks, in a few words (by default the id)",
    "severity": "info, warning (the default) or critical",
    "subject": "the variable holding the IRI each violation is about (required)",
    "message": "the line a person reads, with {variable} filled from the row",
    "labels": "key=value pairs for routing alerts, separated by commas",
    "params": "variables the configuration must bind, separated by commas",
    "optional": "variables the configuration may bind: name or name=default, by commas",
    "learn": "optional list parameters learned from the data when none is given, by commas",
    "case_id": "the variable holding the case's id",
    "event_id": "the variable holding the event's id",
    "activity": "the variable holding the activity's name",
    "score": "the variable holding a score in [0, 1] (by default one from the severity)",
    "key": "variables telling apart two violations on one subject, separated by commas",
}
_VARIABLE_KEYS = ("subject", "case_id", "event_id", "activity", "score")
_HEADER_LINE = re.compile(r"#\s*([A-Za-z_][A-Za-z0-9_-]*)\s*:(.*)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_LABEL_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: strings, IRIs, comments and escapes: blanked before looking for keywords
_NOT_CODE = re.compile(
    r"'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'(?:[^'\\\n\r]|\\.)*'"
    r'|"(?:[^"\\\n\r]|\\.)*"'
    r'|<[^<>"{}|^`\\\x00-\x20]*>'
    r"|#[^\n\r]*"
    r"|\\.",
    re.DOTALL,
)
_SERVICE = re.compile(r"(?<![\w?$:.-])SERVICE(?![\w:-])", re.IGNORECASE)
_FORM = re.compile(r"(?<![\w?$:.-])(SELECT|ASK|CONSTRUCT|DESCRIBE)(?![\w:-])", re.IGNORECASE)
_PREFIX_LINES = prefix_header().count("\n")


@dataclass(frozen=True)
class Learner:
    """How a list parameter is learned from the data when the configuration gives none.

    ``query`` is a SELECT whose ``?value`` rows are the values, run with the
    rule's ``inputs`` parameters bound.
    """

    what: str
    inputs: tuple[str, ...]
    query: str


#: the last events of each case: its latest time, and the activities of its events then
_LAST_ACTIVITIES = """
      {
        SELECT ?case (MAX(?time) AS ?last_time) WHERE {
          { SELECT ?event ?case WHERE { ?event kgs:case ?case } }
          { SELECT ?event ?time WHERE { ?event kgs:timestamp ?time } }
        } GROUP BY ?case
      }
      {
        SELECT ?last ?case ?last_time WHERE {
          { SELECT ?last ?case WHERE { ?last kgs:case ?case } }
          { SELECT ?last ?last_time WHERE { ?last kgs:timestamp ?last_time } }
        }
      }
      {
        SELECT ?last ?value WHERE {
          { SELECT ?activity (STR(?name) AS ?value) WHERE { ?activity rdfs:label ?name } }
          { SELECT ?last ?activity WHERE { ?last kgs:activity ?activity } }
        }
      }"""

#: list parameters a rule may ``learn``, by name
LEARNERS: dict[str, Learner] = {
    "end_activity": Learner(
        what="the activities that end at least end_share of the cases",
        inputs=("end_share",),
        query=f"""SELECT ?value WHERE {{
  {{
    SELECT ?value (COUNT(DISTINCT ?case) AS ?ending) WHERE {{{_LAST_ACTIVITIES}
    }} GROUP BY ?value
  }}
  {{ SELECT (COUNT(DISTINCT ?any_case) AS ?cases) WHERE {{ ?any_event kgs:case ?any_case }} }}
  FILTER(?ending >= ?end_share * ?cases)
}}
ORDER BY ?value""",
    ),
}


@dataclass(frozen=True)
class Rule:
    """A loaded rule: its header, its query and the variables the query projects.

    ``params`` must be bound by the configuration; ``optional`` may be, and maps
    each name to its default term (``None``: unbound unless given).
    """

    id: str
    subject: str
    query: str
    variables: tuple[str, ...]
    source: str = "<rule>"
    title: str = ""
    severity: str = "warning"
    message: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    params: tuple[str, ...] = ()
    optional: dict[str, ox.NamedNode | ox.Literal | None] = field(default_factory=dict)
    learn: tuple[str, ...] = ()
    case_id: str | None = None
    event_id: str | None = None
    activity: str | None = None
    score: str | None = None
    key: tuple[str, ...] = ()

    @property
    def accepted(self) -> tuple[str, ...]:
        """Every parameter the rule takes: required, then optional."""
        return (*self.params, *self.optional)

    def bind(self, params: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """The query to run (lists written in), and the single values for ``store.query``.

        Defaults of optional parameters apply where none is given. A list, tuple
        or set binds its variable to each of its values in turn.
        """
        singles: dict[str, Any] = {}
        lists: dict[str, list[str]] = {}
        for name, value in self._values(params).items():
            if isinstance(value, list | tuple | set | frozenset):
                lists[name] = self._terms(name, value)
            else:
                singles[name] = self._term(name, value)
        return _with_lists(prefix_header() + self.query, lists), singles

    def select(self, store: GraphStore, params: Mapping[str, Any] | None = None) -> QueryResult:
        """Run the rule over the store as ``params`` bind it: one row per violation.

        Learned parameters are not learned here: see :meth:`learned`.
        """
        text, singles = self.bind(params)
        try:
            return store.query(text, params=singles)
        except QueryError as exc:
            raise QueryError(f"{self.source}: rule {self.id}: {exc}") from exc

    def learned(self, store: GraphStore, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The values of the ``learn`` parameters that ``params`` leave out, from the data.

        A parameter whose learner finds nothing is left out (unbound).
        """
        values = self._values(params)
        found: dict[str, Any] = {}
        for name in self.learn:
            learner = LEARNERS[name]
            if name in values or any(given not in values for given in learner.inputs):
                continue
            inputs = {given: self._term(given, values[given]) for given in learner.inputs}
            try:
                rows = store.query(prefix_header() + learner.query, params=inputs)
            except QueryError as exc:
                raise QueryError(f"{self.source}: rule {self.id}: learning {name}: {exc}") from exc
            terms = [row["value"] for row in rows if row.get("value") is not None]
            if terms:
                found[name] = terms
        return found

    def explain(self, row: Mapping[str, Term | None]) -> str:
        """The message with ``{variable}`` filled from ``row`` (``?`` where unbound).

        Example:
            >>> rule = parse_rule("# id: x\\n# subject: s\\n# message: {s} is {o}\\n"
            ...                   "SELECT ?s ?o WHERE { ?s ?p ?o }")
            >>> rule.explain({"s": ox.NamedNode("urn:x:a"), "o": None})
            'urn:x:a is ?'
        """
        template = self.message or f"{self.title or self.id}: {{{self.subject}}}"

        def fill(match: re.Match[str]) -> str:
            term = row.get(match.group(1))
            return "?" if term is None else str(getattr(term, "value", term))

        return _PLACEHOLDER.sub(fill, template)

    def _values(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """The parameters given, checked, over the defaults of the optional ones."""
        given = {name.lstrip("?$"): value for name, value in (params or {}).items()}
        self._check_names(given)
        values: dict[str, Any] = {n: d for n, d in self.optional.items() if d is not None}
        return {**values, **given}

    def _check_names(self, given: Mapping[str, Any]) -> None:
        unknown = [name for name in given if name not in self.accepted]
        if unknown:
            takes = ", ".join(self.accepted) or "none"
            raise RuleError(
                f"{self.source}: rule {self.id} has no parameter {unknown[0]!r}"
                f"{_suggest(unknown[0], self.accepted)}; its parameters are "
                f"{takes}"
            )
        missing = [name for name in self.params if name not in given]
        if missing:
            example = ", ".join(f'{name} = "..."' for name in missing)
            raise RuleError(
                f"{self.source}: rule {self.id} needs the parameter"
                f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}; set "
                f"params = {{ {example} }} in its [detectors.NAME] section"
            )

    def _term(self, name: str, value: Any) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        try:
            return to_term(value)
        except QueryError as exc:
            raise RuleError(f"{self.source}: parameter {name} of rule {self.id}: {exc}") from None

    def _terms(self, name: str, values: Any) -> list[str]:
        """A list parameter's values, written as pyoxigraph writes terms."""
        terms = [str(self._term(name, item)) for item in _ordered(values)]
        if not terms:
            raise RuleError(
                f"{self.source}: parameter {name} of rule {self.id} is an empty list; give "
                "at least one value or leave it out"
            )
        return terms


def _with_lists(query: str, lists: Mapping[str, Sequence[str]]) -> str:
    """``query`` with a ``VALUES`` block per list at the start of its outermost WHERE."""
    if not lists:
        return query
    blocks = "".join(f" VALUES ?{name} {{ {' '.join(terms)} }}" for name, terms in lists.items())
    brace = _where_brace(query)
    return query[: brace + 1] + blocks + query[brace + 1 :]


def parse_rule(text: str, *, source: str = "<rule>") -> Rule:
    """Read a rule from the text of a ``.rq`` file; ``source`` names it in errors."""
    header, end = _read_header(text, source)
    for key in ("id", "subject"):
        if key not in header:
            example = "npi/launch-without-approval" if key == "id" else "case"
            raise RuleError(
                f"{source}, line {end}: the header has no {key}; add a line "
                f"`# {key}: {example}` at the top ({HEADER_KEYS[key]})"
            )
    variables = _check_query(text, source)
    fields: dict[str, Any] = {"id": _rule_id(header, source), "title": _value(header, "title")}
    fields["severity"] = _severity(header, source)
    fields["message"] = _value(header, "message")
    for key in _VARIABLE_KEYS:
        if key in header:
            fields[key] = _projected(header, key, _variable(header, key, source), variables, source)
    fields["key"] = tuple(
        _projected(header, "key", name, variables, source) for name in _names(header, "key", source)
    )
    fields["labels"] = _labels(header, source)
    fields["params"] = tuple(_names(header, "params", source))
    fields["optional"] = _optional(header, source)
    fields["learn"] = _learn(header, fields["optional"], source)
    _check_placeholders(header, variables, source)
    _check_params(text, header, fields["params"], fields["optional"], fields["learn"], source)
    return Rule(query=text, variables=variables, source=source, **fields)


def builtin_rules() -> list[str]:
    """The names of the built-in rules (use them as ``builtin:<name>``)."""
    folder = files("kgsentinel.rules").joinpath("builtin")
    return sorted(entry.name[:-3] for entry in folder.iterdir() if entry.name.endswith(".rq"))


def load_rule(reference: str | Path) -> Rule:
    """Load a rule from a ``.rq`` file, or a built-in one (``builtin:<name>``).

    Example:
        >>> load_rule("builtin:wrong-order").id
        'builtin/wrong-order'
    """
    text_reference = str(reference)
    if text_reference.startswith(BUILTIN_PREFIX):
        name = text_reference[len(BUILTIN_PREFIX) :]
        known = builtin_rules()
        if name not in known:
            raise RuleError(
                f"no built-in rule {name!r}{_suggest(name, known)}; the built-in "
                f"rules are {', '.join(known)}"
            )
        path = files("kgsentinel.rules").joinpath("builtin", f"{name}.rq")
        return parse_rule(path.read_text(encoding="utf-8"), source=text_reference)
    file = Path(reference)
    if not file.is_file():
        raise RuleError(
            f"{file}: no such rule file; check the path, or use a built-in rule "
            f"(builtin:NAME, one of {', '.join(builtin_rules())})"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RuleError(f"{file}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    return parse_rule(text, source=str(file))


def load_rules(folder: str | Path) -> list[Rule]:
    """Every rule under ``folder`` (``*.rq``, in sub-folders too), in path order.

    ``*.ask.rq`` files are outcome queries (see ``[outcomes]``), not rules. Two
    files with one id are refused, naming both.
    """
    root = Path(folder)
    if not root.is_dir():
        raise RuleError(f"{root}: no such rules folder; create it, or check the path")
    paths = [
        p for p in sorted(root.rglob("*.rq")) if p.is_file() and not p.name.endswith(".ask.rq")
    ]
    rules = [load_rule(path) for path in paths]
    seen: dict[str, str] = {}
    for rule in rules:
        if rule.id in seen:
            raise RuleError(
                f"{rule.source}: the rule id {rule.id} is also used by "
                f"{seen[rule.id]}; give each rule its own id"
            )
        seen[rule.id] = rule.source
    return rules


# -- the header ---------------------------------------------------------------------------


def _read_header(text: str, source: str) -> tuple[dict[str, tuple[str, int]], int]:
    """The header's keys with their values and line numbers, and the line after it."""
    header: dict[str, tuple[str, int]] = {}
    lines = text.splitlines()
    number = 0
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped.startswith("#"):
            if stripped or header:
                break
            continue
        if stripped.strip("#").strip() == "":
            continue
        match = _HEADER_LINE.fullmatch(stripped)
        if not match:
            raise RuleError(
                f"{source}, line {number}: header lines look like `# key: value`; "
                "end the header with a blank line before other comments"
            )
        key, value = match.group(1).lower(), match.group(2).strip()
        if key not in HEADER_KEYS:
            raise RuleError(
                f"{source}, line {number}: unknown header key {key!r}"
                f"{_suggest(key, list(HEADER_KEYS))}; the keys are "
                f"{', '.join(HEADER_KEYS)}"
            )
        if key in header:
            raise RuleError(
                f"{source}, line {number}: {key} is given twice (first on line "
                f"{header[key][1]}); keep one"
            )
        header[key] = (value, number)
    else:
        number = len(lines) + 1
    return header, number


def _value(header: Mapping[str, tuple[str, int]], key: str) -> str:
    return header[key][0] if key in header else ""


def _rule_id(header: Mapping[str, tuple[str, int]], source: str) -> str:
    value, line = header["id"]
    if not _ID.fullmatch(value):
        raise RuleError(
            f"{source}, line {line}: id {value!r} is not usable; use letters, "
            "digits, '.', '_', '-' and '/', e.g. npi/launch-without-approval"
        )
    return value


def _severity(header: Mapping[str, tuple[str, int]], source: str) -> str:
    if "severity" not in header:
        return "warning"
    value, line = header["severity"]
    if value.lower() not in SEVERITIES:
        raise RuleError(
            f"{source}, line {line}: severity {value!r} is not one of {', '.join(SEVERITIES)}"
        )
    return value.lower()


def _variable(header: Mapping[str, tuple[str, int]], key: str, source: str) -> str:
    value, line = header[key]
    name = value.lstrip("?$")
    if not _NAME.fullmatch(name):
        raise RuleError(
            f"{source}, line {line}: {key} must name one variable of the SELECT "
            f"(e.g. `# {key}: case`), not {value!r}"
        )
    return name


def _names(header: Mapping[str, tuple[str, int]], key: str, source: str) -> list[str]:
    if key not in header:
        return []
    value, line = header[key]
    names = [item.strip().lstrip("?$") for item in value.split(",") if item.strip()]
    for name in names:
        if not _NAME.fullmatch(name):
            raise RuleError(
                f"{source}, line {line}: {key} lists variable names separated by "
                f"commas; {name!r} is not one"
            )
    return names


def _labels(header: Mapping[str, tuple[str, int]], source: str) -> dict[str, str]:
    if "labels" not in header:
        return {}
    value, line = header["labels"]
    labels = {}
    for item in (part.strip() for part in value.split(",")):
        name, equals, text = item.partition("=")
        if not item or not equals or not _LABEL_KEY.fullmatch(name.strip()) or not text.strip():
            raise RuleError(
                f"{source}, line {line}: labels are key=value pairs separated by "
                f"commas (e.g. team=regulatory, area=npi); {item!r} is not one"
            )
        labels[name.strip()] = text.strip()
    return labels


def _optional(
    header: Mapping[str, tuple[str, int]], source: str
) -> dict[str, ox.NamedNode | ox.Literal | None]:
    if "optional" not in header:
        return {}
    value, line = header["optional"]
    optional: dict[str, ox.NamedNode | ox.Literal | None] = {}
    for item in (part.strip() for part in value.split(",")):
        name, equals, default = (part.strip() for part in item.partition("="))
        name = name.lstrip("?$")
        if not _NAME.fullmatch(name) or (equals and not default):
            raise RuleError(
                f"{source}, line {line}: optional lists name or name=default, "
                f"separated by commas (e.g. silent_hours=168, as_of); {item!r} "
                "is not one"
            )
        try:
            optional[name] = parse_param(default) if equals else None
        except QueryError as exc:
            raise RuleError(f"{source}, line {line}: default of {name}: {exc}") from None
    return optional


def _learn(
    header: Mapping[str, tuple[str, int]],
    optional: Mapping[str, ox.NamedNode | ox.Literal | None],
    source: str,
) -> tuple[str, ...]:
    names = _names(header, "learn", source)
    line = header["learn"][1] if "learn" in header else 0
    for name in names:
        if name not in LEARNERS:
            known = ", ".join(f"{n} ({learner.what})" for n, learner in LEARNERS.items())
            raise RuleError(
                f"{source}, line {line}: no way to learn {name!r}"
                f"{_suggest(name, list(LEARNERS))}; learn can name {known}"
            )
        if name not in optional or optional[name] is not None:
            raise RuleError(
                f"{source}, line {line}: learn names {name}, which must be an optional "
                f"parameter without a default; add {name} to optional"
            )
        missing = [given for given in LEARNERS[name].inputs if given not in optional]
        if missing:
            raise RuleError(
                f"{source}, line {line}: learning {name} needs the optional parameter "
                f"{missing[0]} (e.g. {missing[0]}=0.2); add it to optional"
            )
    return tuple(names)


def _projected(
    header: Mapping[str, tuple[str, int]],
    key: str,
    name: str,
    variables: Sequence[str],
    source: str,
) -> str:
    if name not in variables:
        raise RuleError(
            f"{source}, line {header[key][1]}: {key} names ?{name}, which the "
            f"SELECT does not return{_suggest(name, variables)}; add ?{name} to "
            f"the SELECT, or name one of {', '.join(variables) or 'none'}"
        )
    return name


def _check_placeholders(
    header: Mapping[str, tuple[str, int]], variables: Sequence[str], source: str
) -> None:
    if "message" not in header:
        return
    value, line = header["message"]
    for name in _PLACEHOLDER.findall(value):
        if name not in variables:
            raise RuleError(
                f"{source}, line {line}: the message uses {{{name}}}, which the "
                f"SELECT does not return{_suggest(name, variables)}; add ?{name} "
                f"to the SELECT, or use one of "
                f"{', '.join(f'{{{v}}}' for v in variables)}"
            )


def _check_params(
    text: str,
    header: Mapping[str, tuple[str, int]],
    params: Sequence[str],
    optional: Mapping[str, object],
    learn: Sequence[str],
    source: str,
) -> None:
    both = set(params) & set(optional)
    if both:
        name = sorted(both)[0]
        raise RuleError(
            f"{source}, line {header['optional'][1]}: {name} is in params and in "
            "optional; a parameter is either required or optional"
        )
    code = _code(text)
    learners_inputs = {given for name in learn for given in LEARNERS[name].inputs}
    for key, names in (("params", params), ("optional", list(optional))):
        for name in names:
            if name in learners_inputs:
                continue
            if not re.search(rf"[?$]{name}(?![A-Za-z0-9_])", code):
                raise RuleError(
                    f"{source}, line {header[key][1]}: {key} names {name}, but the "
                    f"query never uses ?{name}; use it, or take it out"
                )


# -- the query ----------------------------------------------------------------------------


def _check_query(text: str, source: str) -> tuple[str, ...]:
    """Refuse SERVICE and anything but a SELECT; parse; return the projected variables."""
    code = _code(text)
    service = service_line(text)
    if service:
        raise RuleError(
            f"{source}, line {service}: SERVICE clauses "
            "are refused (a rule must not call other endpoints); query the "
            "store's own graphs"
        )
    form = _FORM.search(code)
    if form is None:
        raise RuleError(
            f"{source}: no query after the header; write one SELECT whose rows are the violations"
        )
    try:
        kind, variables = query_shape(prefix_header() + text)
    except SyntaxError as exc:
        raise _syntax_error(text, source, exc) from None
    if kind != "select":
        raise RuleError(
            f"{source}, line {_line_of(code, form.start())}: the query is "
            f"{form.group(1).upper()}; a rule is a SELECT whose rows are the "
            "violations"
        )
    return variables


def service_line(text: str) -> int | None:
    """The line of a ``SERVICE`` clause in a query (outside strings and comments), if any.

    Example:
        >>> service_line('SELECT * WHERE {\\n  SERVICE <http://x/sparql> { ?s ?p ?o } }')
        2
        >>> service_line('SELECT * WHERE { ?s ?p "SERVICE" }  # no SERVICE here') is None
        True
    """
    code = _code(text)
    found = _SERVICE.search(code)
    return _line_of(code, found.start()) if found else None


def _syntax_error(text: str, source: str, exc: SyntaxError) -> RuleError:
    message = str(exc)
    match = re.match(r"error at (\d+):(\d+): (.*)", message, re.DOTALL)
    if not match:
        return RuleError(f"{source}: SPARQL syntax error: {message.splitlines()[0]}")
    line, column = int(match.group(1)) - _PREFIX_LINES, int(match.group(2))
    detail = match.group(3).splitlines()[0]
    if "Prefix not found" in detail:
        lines = text.splitlines()
        before = lines[line - 1][: column - 1] if 0 < line <= len(lines) else ""
        name = re.search(r"([A-Za-z][\w.-]*)?:[^\s:]*$", before)
        prefix = f"{name.group(1) or ''}:" if name else "a prefix"
        return RuleError(
            f"{source}, line {line}: unknown prefix {prefix}; declare it with "
            f"PREFIX {prefix} <...> (these need no declaration: "
            f"{', '.join(PREFIXES)})"
        )
    if len(detail) > 100:
        detail = detail[:100] + "..."
    return RuleError(f"{source}, line {line}, column {column}: SPARQL syntax error: {detail}")


def _code(text: str) -> str:
    """The text with strings, IRIs and comments blanked (line breaks kept)."""
    return _NOT_CODE.sub(lambda match: re.sub(r"[^\n]", " ", match.group()), text)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _suggest(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _ordered(values: Any) -> list[Any]:
    if isinstance(values, set | frozenset):
        return sorted(values, key=str)
    return list(values)
