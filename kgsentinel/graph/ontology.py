"""The kgsentinel ontology: its IRI, namespace, file and the prefixes analysts use.

The ontology is one Turtle file shipped in the package (``ontology.ttl``) and
documented in ``docs/ontology.md``.

Example:
    >>> from kgsentinel.graph.ontology import KGS, PREFIXES, prefix_header
    >>> KGS + "Anomaly"
    'https://w3id.org/kgsentinel#Anomaly'
    >>> PREFIXES["kgs"] == KGS
    True
    >>> "PREFIX prov: <http://www.w3.org/ns/prov#>" in prefix_header()
    True
"""

from __future__ import annotations

import atexit
import contextlib
import functools
from importlib.resources import as_file, files
from pathlib import Path

__all__ = ["KGS", "ONTOLOGY_IRI", "PREFIXES", "ontology_path", "ontology_text", "prefix_header"]

ONTOLOGY_IRI = "https://w3id.org/kgsentinel"
KGS = "https://w3id.org/kgsentinel#"

PREFIXES: dict[str, str] = {
    "kgs": KGS,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "sh": "http://www.w3.org/ns/shacl#",
}
"""Prefix → namespace IRI for the vocabularies kgsentinel uses and writes."""

_PACKAGE = "kgsentinel.graph"
_FILENAME = "ontology.ttl"


@functools.cache
def ontology_path() -> Path:
    """Return the path of the ontology Turtle file.

    From an ordinary install this is the file inside the package; from a zipped
    package it is a temporary copy that lives as long as the process.

    Example:
        >>> ontology_path().name
        'ontology.ttl'
    """
    manager = contextlib.ExitStack()
    atexit.register(manager.close)
    return manager.enter_context(as_file(files(_PACKAGE).joinpath(_FILENAME)))


def ontology_text() -> str:
    """Return the ontology as Turtle text.

    Example:
        >>> "kgs:Anomaly" in ontology_text()
        True
    """
    return files(_PACKAGE).joinpath(_FILENAME).read_text(encoding="utf-8")


def prefix_header() -> str:
    """Return SPARQL ``PREFIX`` lines for :data:`PREFIXES`, one per line, ending in a newline.

    Example:
        >>> print(prefix_header().splitlines()[0])
        PREFIX kgs: <https://w3id.org/kgsentinel#>
    """
    return "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items())
