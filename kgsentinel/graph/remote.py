"""The remote store: any SPARQL 1.1 endpoint (Oxigraph server, Fuseki, GraphDB, Virtuoso, …).

Queries use the SPARQL 1.1 Protocol, writes SPARQL 1.1 Update, and loads and
exports the Graph Store Protocol (GSP) when the endpoint has one; without it,
loads become ``INSERT DATA`` updates in chunks and exports ``CONSTRUCT`` queries.
Query parameters are bound with a ``VALUES`` block (:mod:`kgsentinel.graph.binding`).

"The union of all graphs" is built one of two ways (``union=``):

- ``"list"`` (the default, works everywhere): each query names every visible
  named graph as ``default-graph-uri`` and ``named-graph-uri``. Staging graphs
  are never listed, so readers never see a load half done. The protocol cannot
  name the unnamed default graph, so once named graphs exist its triples are not
  part of the union (kgsentinel itself writes only named graphs).
- ``"server"``: the server's default graph already is the union (Oxigraph
  ``serve --union-default-graph``, Fuseki ``unionDefaultGraph``), so nothing is
  sent. The server's own default graph then cannot be addressed alone (it counts
  as empty), and a union query that starts in the instant a load begins may see
  the load's staged triples.

Example:
    >>> endpoint_urls("http://localhost:7878/query")
    ('http://localhost:7878/query', 'http://localhost:7878/update', 'http://localhost:7878/store')
"""

from __future__ import annotations

import contextlib
import io
import re
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

import httpx
import pyoxigraph as ox

from kgsentinel.errors import ConfigError, EndpointError, QueryError, StoreError
from kgsentinel.graph.results import QueryResult
from kgsentinel.graph.store import GraphStore, Source, query_syntax_error

__all__ = ["TOKEN_ENV", "RemoteStore", "endpoint_urls"]

#: the environment variable that holds the endpoint's bearer token
TOKEN_ENV = "KGSENTINEL_STORE_TOKEN"

_ACCEPT_RESULTS = "application/sparql-results+json, application/n-triples;q=0.9, text/turtle;q=0.8"
_FORM = "application/x-www-form-urlencoded"
_LIST_GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { } }"
_SCAN_GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
_ANY_NAMED = "ASK { GRAPH ?g { ?s ?p ?o } }"
#: a graph that never exists: naming it alone as the dataset makes the default graph empty
_NO_GRAPH = "urn:kgsentinel:no-graph"
_INSERT_CHUNK = 10_000  # triples per INSERT DATA update (no Graph Store Protocol)
_READ_CHUNK = 1 << 20  # bytes per piece of a file upload
_PARSER_ERROR = re.compile(
    r"Parser error (?:at|between) line (\d+)(?: between)? columns? (\d+)[^:]*: (.*)"
)
_QUERY_ERROR = re.compile(r"error at \d+:\d+: ")

_Purpose = Literal["query", "update", "load", "read"]


def endpoint_urls(
    query_url: str, update_url: str | None = None, gsp_url: str | None = None
) -> tuple[str, str, str | None]:
    """The query, update and Graph Store Protocol URLs of an endpoint.

    A query URL ending in ``/query`` (Oxigraph server, Fuseki) gives ``.../update``
    and ``.../store``; any other URL is used for updates too, without GSP.
    ``gsp_url=""`` turns the Graph Store Protocol off.

    Example:
        >>> endpoint_urls("https://db.example.org/sparql")
        ('https://db.example.org/sparql', 'https://db.example.org/sparql', None)
        >>> endpoint_urls("http://localhost:7878/query", gsp_url="")[2] is None
        True
    """
    parts = urllib.parse.urlsplit(query_url)
    if parts.path.endswith("/query"):
        base = parts.path.removesuffix("query")
        default_update = urllib.parse.urlunsplit(parts._replace(path=base + "update"))
        default_gsp: str | None = urllib.parse.urlunsplit(parts._replace(path=base + "store"))
    else:
        default_update, default_gsp = query_url, None
    gsp = default_gsp if gsp_url is None else gsp_url or None
    return query_url, update_url or default_update, gsp


class RemoteStore(GraphStore):
    """A graph store behind a SPARQL 1.1 endpoint, spoken to over HTTP.

    ``token`` is sent as a bearer token; ``username`` and ``password`` as HTTP
    basic auth (credentials written in the URL are used the same way and never
    shown). ``gsp_url=""`` turns the Graph Store Protocol off; ``union`` says how
    queries see all graphs (see the module docs). ``timeout`` is in seconds.

    Example:
        >>> endpoint_urls("http://localhost:7878/query")[1]
        'http://localhost:7878/update'
    """

    def __init__(
        self,
        query_url: str,
        *,
        update_url: str | None = None,
        gsp_url: str | None = None,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        union: Literal["list", "server"] = "list",
        timeout: float = 60.0,
    ) -> None:
        if union not in ("list", "server"):
            raise ConfigError(f"union must be 'list' or 'server', not {union!r}")
        query_url, update_url, gsp_url = endpoint_urls(query_url, update_url, gsp_url)
        query, in_url = _split_credentials(query_url)
        update, _ = _split_credentials(update_url)
        gsp = _split_credentials(gsp_url)[0] if gsp_url else None
        if in_url and username is None:
            username, password = in_url
        if token and username is not None:
            raise ConfigError("give the endpoint a token or a user name and password, not both")
        headers = {"User-Agent": "kgsentinel"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        auth = httpx.BasicAuth(username, password or "") if username is not None else None
        self.location = query
        self.query_url, self.update_url, self.gsp_url = query, update, gsp
        self.union = union
        self.native_union = union == "server"
        self.timeout = timeout
        self._scan_graphs = False
        self._client: httpx.Client | None = httpx.Client(
            headers=headers, auth=auth, timeout=timeout
        )

    def __repr__(self) -> str:
        return f"RemoteStore({self.location!r})"

    def close(self) -> None:
        """Close the HTTP connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- primitives ----------------------------------------------------------------------

    def _query(
        self, sparql: str, visible: list[ox.NamedNode | ox.DefaultGraph] | None
    ) -> QueryResult:
        return self._run_query(sparql, self._dataset(visible))

    def _update(self, sparql: str) -> None:
        headers = {"Content-Type": "application/sparql-update"}
        with self._exchange("POST", self.update_url, "update", content=sparql, headers=headers):
            pass

    def _bulk_load(self, source: Source, fmt: ox.RdfFormat, graph: ox.NamedNode) -> None:
        if self.gsp_url is None:
            triples = _parse(source, fmt)
            self._insert(ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)
            return
        body = source if isinstance(source, bytes) else _file_chunks(Path(source))
        self._post_rdf(body, fmt, {"graph": graph.value})

    def _dump(self, graph: ox.NamedNode | None, fmt: ox.RdfFormat, out: IO[bytes]) -> None:
        if graph is None:
            ox.serialize(self._all_quads(), out, format=fmt)
        elif self.gsp_url is not None:
            self._download(fmt, out, params={"graph": graph.value})
        else:
            ox.serialize(self._construct(graph), out, format=fmt)

    def _named_graphs(self) -> list[ox.NamedNode]:
        result = self._run_query(_SCAN_GRAPHS if self._scan_graphs else _LIST_GRAPHS, [])
        if not result.solutions and not self._scan_graphs and self._run_query(_ANY_NAMED, []):
            # this server lists no graph for an empty pattern: scan the quads instead
            self._scan_graphs = True
            result = self._run_query(_SCAN_GRAPHS, [])
        return [row[0] for row in result.solutions if isinstance(row[0], ox.NamedNode)]

    # -- queries -------------------------------------------------------------------------

    def _dataset(
        self, visible: list[ox.NamedNode | ox.DefaultGraph] | None
    ) -> list[tuple[str, str]]:
        """The protocol's dataset parameters for the graphs a query may see."""
        if visible is None:
            return []  # only in union = "server" with nothing hidden: the server unions
        named = [g for g in visible if isinstance(g, ox.NamedNode)]
        if not named and self.union == "server":
            # the server's default graph is the union: its own one cannot be named
            return [("default-graph-uri", _NO_GRAPH), ("named-graph-uri", _NO_GRAPH)]
        if not named:
            return []  # no dataset: the endpoint's default graph, which is all there is
        return [("default-graph-uri", g.value) for g in named] + [
            ("named-graph-uri", g.value) for g in named
        ]

    def _run_query(self, sparql: str, dataset: list[tuple[str, str]]) -> QueryResult:
        body = urllib.parse.urlencode([("query", sparql), *dataset])
        headers = {"Content-Type": _FORM, "Accept": _ACCEPT_RESULTS}
        with self._exchange("POST", self.query_url, "query", content=body, headers=headers) as r:
            payload = r.read()
            media = _media_type(r)
        try:
            results_format = ox.QueryResultsFormat.from_media_type(media) if media else None
            if results_format is not None:
                return QueryResult.from_pyoxigraph(
                    ox.parse_query_results(payload, format=results_format)
                )
            rdf = ox.RdfFormat.from_media_type(media) if media else None
            if rdf is not None:
                parsed = ox.parse(payload, format=rdf)
                return QueryResult.from_pyoxigraph(quad.triple for quad in parsed)
        except (SyntaxError, ValueError) as exc:
            raise EndpointError(
                f"the SPARQL endpoint at {self.query_url} sent {media} that cannot be read "
                f"(the query may have failed there): {_broken_off(payload, exc)}"
            ) from exc
        raise EndpointError(
            f"the SPARQL endpoint at {self.query_url} answered with {media or 'no content type'}, "
            "not SPARQL results: check that the URL is the query endpoint"
        )

    # -- writes --------------------------------------------------------------------------

    def _post_rdf(self, body: Any, fmt: ox.RdfFormat, params: dict[str, str]) -> None:
        """POST an RDF document (bytes or an iterator of byte pieces) to the Graph Store."""
        assert self.gsp_url is not None
        headers = {"Content-Type": fmt.media_type}
        with self._exchange(
            "POST", self.gsp_url, "load", content=body, params=params, headers=headers
        ):
            pass

    def _insert(self, quads: Iterable[ox.Quad]) -> None:
        """Add quads with ``INSERT DATA`` updates (no Graph Store Protocol)."""
        for chunk in _insert_chunks(quads, _INSERT_CHUNK):
            self._update(_insert_data(chunk))

    # -- reads ---------------------------------------------------------------------------

    def _download(self, fmt: ox.RdfFormat, out: IO[bytes], params: dict[str, str]) -> None:
        """GET one graph from the Graph Store into ``out``, converting if the server must."""
        assert self.gsp_url is not None
        headers = {"Accept": fmt.media_type}
        with self._exchange("GET", self.gsp_url, "read", params=params, headers=headers) as r:
            if _rdf_format(r, self.gsp_url) == fmt:
                for piece in r.iter_bytes():
                    out.write(piece)
            else:
                ox.serialize(self._parse_response(r, self.gsp_url), out, format=fmt)

    def _all_quads(self) -> Iterator[ox.Quad]:
        """Every quad outside staging graphs, the whole dataset at once when the server can."""
        if self.gsp_url is not None:
            headers = {"Accept": ox.RdfFormat.N_QUADS.media_type}
            hidden = self._hidden_graphs(self._named_graphs())
            with self._exchange("GET", self.gsp_url, "read", headers=headers, lenient=True) as r:
                if not r.is_error and _media_type(r) in ("application/n-quads", "application/trig"):
                    for quad in self._parse_response(r, self.gsp_url):
                        if quad.graph_name not in hidden:
                            yield quad
                    return
        graphs: list[ox.NamedNode | ox.DefaultGraph] = [ox.DefaultGraph()]
        for graph in [*graphs, *self._visible_named()]:
            yield from (ox.Quad(*triple, graph) for triple in self._graph_triples(graph))

    def _graph_triples(self, graph: ox.NamedNode | ox.DefaultGraph) -> Iterator[ox.Triple]:
        if self.gsp_url is not None:
            params = {"graph": graph.value} if isinstance(graph, ox.NamedNode) else {"default": ""}
            headers = {"Accept": ox.RdfFormat.N_TRIPLES.media_type}
            with self._exchange("GET", self.gsp_url, "read", params=params, headers=headers) as r:
                yield from (quad.triple for quad in self._parse_response(r, self.gsp_url))
        elif isinstance(graph, ox.NamedNode):
            yield from self._construct(graph)
        elif self.union == "list":
            yield from self._run_query("CONSTRUCT WHERE { ?s ?p ?o }", []).triples

    def _construct(self, graph: ox.NamedNode) -> Iterator[ox.Triple]:
        sparql = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}"
        return iter(self._run_query(sparql, []).triples)

    def _parse_response(self, response: httpx.Response, url: str) -> Iterator[ox.Quad]:
        fmt = _rdf_format(response, url)
        reader = io.BufferedReader(_ByteStream(response.iter_bytes()), _READ_CHUNK)
        try:
            yield from ox.parse(reader, format=fmt)
        except SyntaxError as exc:
            raise EndpointError(
                f"the endpoint at {url} sent {fmt.name} that cannot be read: {_first_line(exc)}"
            ) from exc

    # -- HTTP ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _exchange(
        self, method: str, url: str, purpose: _Purpose, *, lenient: bool = False, **kwargs: Any
    ) -> Iterator[httpx.Response]:
        """Send one request and stream its answer; failures become our errors.

        With ``lenient``, 4xx answers other than 401 and 403 are handed back.
        """
        if self._client is None:
            raise StoreError(f"the store at {self.location} is closed")
        try:
            with self._client.stream(method, url, **kwargs) as response:
                lenient_error = lenient and response.status_code not in (401, 403)
                if response.status_code >= 300 and not (lenient_error and response.is_client_error):
                    response.read()
                    raise _http_error(response, url, purpose)
                yield response
        except httpx.TimeoutException as exc:
            raise EndpointError(
                f"the SPARQL endpoint at {url} did not answer within {self.timeout:g} s: "
                "raise the timeout, or make the query cheaper"
            ) from exc
        except httpx.TransportError as exc:
            raise EndpointError(
                f"cannot reach the SPARQL endpoint at {url}: {_first_line(exc)}; "
                "check the URL and that the server is running"
            ) from exc


# -- helpers -------------------------------------------------------------------------------


class _ByteStream(io.RawIOBase):
    """A readable file over an iterator of byte pieces (to parse a response as it arrives)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._pending = piece
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """Check ``url``; return it without ``user:password@``, and what was there."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = _without_userinfo(parts)
        raise ConfigError(f"the endpoint URL {shown!r} must start with http:// or https://")
    if parts.username is None:
        return _without_userinfo(parts), None
    user, password = (urllib.parse.unquote(part or "") for part in (parts.username, parts.password))
    return _without_userinfo(parts), (user, password)


def _without_userinfo(parts: urllib.parse.SplitResult) -> str:
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _http_error(response: httpx.Response, url: str, purpose: _Purpose) -> Exception:
    status = response.status_code
    text = response.content.decode("utf-8", errors="replace").strip()
    if status in (401, 403):
        return EndpointError(
            f"the SPARQL endpoint at {url} refused access (HTTP {status}): set its token in "
            f"{TOKEN_ENV}, or check the user name and password"
        )
    if status == 400 and purpose in ("query", "update"):
        if _QUERY_ERROR.match(text):
            return query_syntax_error(SyntaxError(text))
        return QueryError(f"the endpoint rejected the {purpose}: {_first_line(text)}")
    if status == 400 and purpose == "load":
        return _load_syntax_error(text)
    if response.is_redirect:
        target = _without_userinfo(urllib.parse.urlsplit(response.headers.get("location", "")))
        return EndpointError(f"the endpoint at {url} redirects to {target}: use that URL")
    detail = f": {_first_line(text)}" if text else ""
    return EndpointError(f"the SPARQL endpoint at {url} answered HTTP {status}{detail}")


def _load_syntax_error(text: str) -> SyntaxError:
    """A syntax error the store's ``load`` turns into an RdfError naming the file and line."""
    match = _PARSER_ERROR.match(text)
    if not match:
        return SyntaxError(_first_line(text) or "the endpoint rejected the document")
    line, column, detail = match.groups()
    error = SyntaxError(_first_line(detail))
    error.lineno, error.offset = int(line), int(column)
    return error


def _first_line(value: object) -> str:
    text = str(value).strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= 200 else line[:199] + "…"


def _broken_off(payload: bytes, exc: Exception) -> str:
    """What follows the point where an answer stopped parsing: a streaming server's error."""
    line, column = getattr(exc, "lineno", None), getattr(exc, "offset", None)
    if line and column:
        lines = payload.decode("utf-8", errors="replace").splitlines(keepends=True)
        start = sum(len(text) for text in lines[: line - 1]) + column - 1
        if tail := _first_line("".join(lines)[start:]):
            return tail
    return _first_line(exc)


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def _rdf_format(response: httpx.Response, url: str) -> ox.RdfFormat:
    media = _media_type(response)
    fmt = ox.RdfFormat.from_media_type(media) if media else None
    if fmt is None:
        raise EndpointError(f"the endpoint at {url} sent {media or 'no content type'}, not RDF")
    return fmt


def _parse(source: Source, fmt: ox.RdfFormat) -> Iterator[ox.Quad]:
    if isinstance(source, bytes):
        return iter(ox.parse(source, format=fmt))
    return iter(ox.parse(path=str(source), format=fmt))


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while piece := handle.read(_READ_CHUNK):
            yield piece


def _insert_chunks(quads: Iterable[ox.Quad], size: int) -> Iterator[list[ox.Quad]]:
    """Cut quads into chunks of ``size``, but never after a blank node has appeared.

    A blank node label only means the same node within one update, so once the
    document has one, the rest goes in a single update.
    """
    chunk: list[ox.Quad] = []
    blank = False
    for quad in quads:
        chunk.append(quad)
        blank = blank or _has_blank_node(quad.subject) or _has_blank_node(quad.object)
        if len(chunk) >= size and not blank:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _has_blank_node(term: Any) -> bool:
    if isinstance(term, ox.Triple):
        return _has_blank_node(term.subject) or _has_blank_node(term.object)
    return isinstance(term, ox.BlankNode)


def _insert_data(quads: list[ox.Quad]) -> str:
    """One ``INSERT DATA`` update; terms are written by pyoxigraph's serialiser."""
    blocks: list[str] = []
    current: ox.NamedNode | ox.DefaultGraph | None = None
    for quad in quads:
        graph = quad.graph_name
        if graph != current:
            if current is not None and isinstance(current, ox.NamedNode):
                blocks.append("}")
            if isinstance(graph, ox.NamedNode):
                blocks.append(f"GRAPH {graph} {{")
            current = graph
        blocks.append(f"{quad.subject} {quad.predicate} {quad.object} .")
    if isinstance(current, ox.NamedNode):
        blocks.append("}")
    return "INSERT DATA {\n" + "\n".join(blocks) + "\n}"
