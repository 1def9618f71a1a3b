"""Declarative mappings (``mappings/*.yaml``): how a source's rows become graph data.

A mapping names the entities each row describes: their class, an IRI built
from key columns, properties with datatypes or languages, and links to other
entities by key, so sources join in the graph without a join in the mapping::

    base: "urn:kgsentinel:npi:"
    prefixes: {npi: "urn:kgsentinel:npi:"}
    entities:
      - class: npi:Product
        iri: "product/{sku}"
        properties:
          rdfs:label: {column: name, language: en}
          npi:price: {column: price, datatype: xsd:decimal}
          npi:launched: {column: launch_date, datatype: xsd:date, format: "%d/%m/%Y"}
          npi:sku: sku                      # a bare column name: a plain string
        links:
          npi:supplier: "supplier/{supplier_id}"

Everything is checked before any data is read: unknown columns are named with
the available ones, and bad templates, prefixes and datatypes are explained.

Example:
    >>> thing = {"class": "kgs:Object", "iri": "thing/{id}", "properties": {"rdfs:label": "name"}}
    >>> mapping = Mapping.model_validate({"entities": [thing]})
    >>> mapping.columns()
    ['id', 'name']
    >>> try:
    ...     mapping.check_columns(["id", "nmae"], source="things.csv")
    ... except MappingError as error:
    ...     print(error)  # doctest: +NORMALIZE_WHITESPACE
    things.csv: entities[0].properties['rdfs:label'] reads column 'name', which things.csv
    does not have (did you mean 'nmae'?; columns: id, nmae)
"""

from __future__ import annotations

import difflib
import hashlib
import urllib.parse
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kgsentinel.errors import MappingError
from kgsentinel.graph.ontology import PREFIXES
from kgsentinel.graph.terms import is_absolute_iri
from kgsentinel.ingest.templates import Template

__all__ = [
    "DATATYPES",
    "Entity",
    "Mapping",
    "ObjectKey",
    "ObjectLink",
    "ObjectRef",
    "Value",
    "load_mapping",
]

#: datatypes whose values are checked and normalised; any other datatype IRI is written as given
DATATYPES = ("string", "integer", "decimal", "double", "boolean", "date", "dateTime")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Value(_Model):
    """Where a property's value comes from, and how it is typed."""

    column: str | None = Field(None, description="Read the value from this column.")
    template: str | None = Field(None, description="Build the value from columns: '{a} {b}'.")
    constant: str | None = Field(None, description="The same value on every row.")
    datatype: str | None = Field(None, description="xsd:integer, xsd:date, ... (CURIE or IRI).")
    language: str | None = Field(None, description="Language tag for text: en, fr-BE, ...")
    format: str | None = Field(None, description="strptime format for dates and times.")
    required: bool = Field(False, description="Reject the row when the value is missing.")

    @model_validator(mode="after")
    def _one_source(self) -> Value:
        given = [name for name in ("column", "template", "constant") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("give exactly one of column, template or constant")
        if self.datatype and self.language:
            raise ValueError("a value has a datatype or a language, not both")
        return self

    def template_(self) -> Template:
        """The value as a template (a column is ``{column}``)."""
        if self.column is not None:
            return Template(self.column, ((self.column,),))
        if self.template is not None:
            return Template.parse(self.template)
        return Template(str(self.constant), (str(self.constant),))


class Entity(_Model):
    """One kind of thing each row describes."""

    classes: list[str] = Field(alias="class", description="Class CURIEs or IRIs.")
    iri: str = Field(description="IRI template from key columns, relative to the base.")
    properties: dict[str, Value] = Field(default_factory=dict)
    links: dict[str, list[str]] = Field(
        default_factory=dict, description="predicate: IRI template (or a list of them)"
    )
    optional: bool = Field(False, description="Skip, not reject, a row whose key is empty.")

    @field_validator("links", mode="before")
    @classmethod
    def _links_as_lists(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {key: [v] if isinstance(v, str) else v for key, v in value.items()}

    @field_validator("classes", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("properties", mode="before")
    @classmethod
    def _column_shorthand(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {key: {"column": v} if isinstance(v, str) else v for key, v in value.items()}


class ObjectKey(_Model):
    """An object named by its type and id: ``{type}/{id}`` under the base."""

    id: str = Field(description="Column or template of the object's id.")
    type: str = Field(description="The object type, e.g. product (also its IRI folder).")

    def iri(self) -> str:
        """The object's IRI template."""
        return f"{self.type}/{_key(self.id)}"


class ObjectRef(ObjectKey):
    """An object an event involves (OCEL 2.0 event-to-object link)."""

    qualifier: str | None = Field(None, description="The object's role in the event.")


class ObjectLink(_Model):
    """A link from one object to another (OCEL 2.0 object-to-object), with its role."""

    source: ObjectKey = Field(alias="from", description="The object the link starts from.")
    target: ObjectKey = Field(alias="to", description="The object it points to.")
    qualifier: str | Value | None = Field(
        None, description="The link's role: text (contains), or {column: role} per row."
    )

    def entities(self) -> list[Entity]:
        """Both objects, the ``kgs:relatedTo`` shortcut and the qualified link.

        The shape is the one OCEL 2.0 logs are read into, so a mapped table and a
        log give the same graph.

        Example:
            >>> link = ObjectLink.model_validate(
            ...     {"from": {"id": "order", "type": "order"}, "to": {"id": "item", "type": "item"},
            ...      "qualifier": "contains"})
            >>> link.entities()[-1].iri
            'order/{order}/item/{item}/contains'
        """
        source, target = self.source.iri(), self.target.iri()
        if isinstance(self.qualifier, Value):  # one per row: the link's IRI says which
            role, qualifier = self.qualifier.template_().text, {"kgs:qualifier": self.qualifier}
            role = role if "{" in role else f"{{{role}}}"
        elif self.qualifier:
            role = urllib.parse.quote(self.qualifier, safe="-._~")
            qualifier = {"kgs:qualifier": Value(constant=self.qualifier)}
        else:
            role, qualifier = "-", {}
        return [
            _object(self.source, source).model_copy(update={"links": {
                "kgs:objectType": [f"objecttype/{self.source.type}"],
                "kgs:relatedTo": [target]}}),
            _object(self.target, target),
            Entity.model_validate({
                "class": "kgs:ObjectObjectLink", "iri": f"{source}/{target}/{role}",
                "properties": qualifier, "optional": True,
                "links": {"kgs:fromObject": source, "kgs:toObject": target},
            }),
        ]  # fmt: skip


class Events(_Model):
    """Each row is one event: its id, activity, time, resource, case and objects."""

    id: str = Field(description="Column or template of the event id (unique in the source).")
    activity: str = Field(description="Column or template of the activity name.")
    timestamp: Value = Field(description="When the event happened (completed).")
    start: Value | None = Field(None, description="When its work started, if recorded.")
    resource: str | None = Field(None, description="Column or template of who did it.")
    case: str | None = Field(None, description="Column or template of the case id.")
    objects: list[ObjectRef] = Field(default_factory=list)
    attributes: dict[str, Value] = Field(default_factory=dict)

    @field_validator("timestamp", "start", mode="before")
    @classmethod
    def _column_shorthand(cls, value: Any) -> Any:
        return {"column": value} if isinstance(value, str) else value

    @field_validator("attributes", mode="before")
    @classmethod
    def _attribute_shorthand(cls, value: Any) -> Any:
        return Entity._column_shorthand(value)

    def entities(self) -> list[Entity]:
        """The event, its activity, resource, case, objects and links, as entities."""
        event, activity = f"event/{_key(self.id)}", f"activity/{_key(self.activity)}"
        links: dict[str, list[str]] = {"kgs:activity": [activity]}
        properties = {
            "kgs:eventId": Value(template=_key(self.id)),
            "kgs:timestamp": _typed(self.timestamp, required=True),
            **({"kgs:startTime": _typed(self.start)} if self.start else {}),
            **self.attributes,
        }
        related = [_entity("kgs:Activity", activity, {"rdfs:label": _key(self.activity)})]
        if self.resource:
            resource = f"resource/{_key(self.resource)}"
            links["kgs:resource"] = [resource]
            related.append(_entity("kgs:Resource", resource, {"rdfs:label": _key(self.resource)},
                                   optional=True))  # fmt: skip
        if self.case:
            case = f"case/{_key(self.case)}"
            links["kgs:case"] = [case]
            links["kgs:involves"] = [case]
            related.append(_entity(["kgs:Case", "kgs:Object"], case,
                                   {"kgs:caseId": _key(self.case)}, optional=True))  # fmt: skip
        for ref in self.objects:
            obj = ref.iri()
            links.setdefault("kgs:involves", []).append(obj)
            related.append(_object(ref, obj))
            if ref.qualifier:
                related.append(_qualified_link(ref, event, obj))
        main = Entity.model_validate({"class": "kgs:Event", "iri": event,
                                      "properties": properties, "links": links})  # fmt: skip
        return [main, *related]


def _key(text: str) -> str:
    """A column name as a template; a template as it is."""
    return text if "{" in text else f"{{{text}}}"


def _typed(value: Value | None, *, required: bool = False) -> Value:
    assert value is not None
    return value.model_copy(update={"datatype": "xsd:dateTime", "required": required})


def _entity(
    classes: str | list[str], iri: str, labels: dict[str, str], *, optional: bool = False
) -> Entity:
    properties = {key: {"template": value} for key, value in labels.items()}
    return Entity.model_validate(
        {"class": classes, "iri": iri, "properties": properties, "optional": optional}
    )


def _object(ref: ObjectKey, iri: str) -> Entity:
    entity = _entity("kgs:Object", iri, {"kgs:objectId": _key(ref.id)}, optional=True)
    return entity.model_copy(update={"links": {"kgs:objectType": [f"objecttype/{ref.type}"]}})


def _qualified_link(ref: ObjectRef, event: str, obj: str) -> Entity:
    return Entity.model_validate({
        "class": "kgs:EventObjectLink",
        "iri": f"{event}/{ref.type}/{_key(ref.id)}",
        "properties": {"kgs:qualifier": {"constant": ref.qualifier}},
        "links": {"kgs:linkedEvent": event, "kgs:linkedObject": obj},
        "optional": True,
    })  # fmt: skip


class Mapping(_Model):
    """A whole mapping file."""

    base: str = Field("urn:kgsentinel:data:", description="Base of relative IRI templates.")
    prefixes: dict[str, str] = Field(default_factory=dict)
    entities: list[Entity] = Field(default_factory=list)
    events: Events | None = Field(None, description="Each row is an event (see Events).")
    object_links: list[ObjectLink] = Field(
        default_factory=list, description="Object-to-object links each row gives."
    )

    def all_entities(self) -> list[tuple[str, Entity]]:
        """Every entity with where it comes from: declared ones, ``events``, ``object_links``."""
        declared = [(f"entities[{i}]", entity) for i, entity in enumerate(self.entities)]
        derived = [("events", entity) for entity in self.events.entities()] if self.events else []
        links = [(f"object_links[{i}]", entity) for i, link in enumerate(self.object_links)
                 for entity in link.entities()]  # fmt: skip
        return declared + derived + links

    @model_validator(mode="after")
    def _resolvable(self) -> Mapping:
        if not is_absolute_iri(self.base):
            raise ValueError(
                f"base {self.base!r} must be an absolute IRI such as urn:x: or https://"
            )
        for where, name in self._names():
            self.expand(name, where=where)
        for _where, template in self._templates():
            Template.parse(template)
        for label, entity in self.all_entities():
            for predicate, value in entity.properties.items():
                if value.datatype:
                    self.expand(value.datatype, where=f"{label}.properties[{predicate!r}]")
        return self

    def _names(self) -> list[tuple[str, str]]:
        names = []
        for label, entity in self.all_entities():
            names += [(f"{label}.class", c) for c in entity.classes]
            names += [(f"{label}.properties", p) for p in entity.properties]
            names += [(f"{label}.links", p) for p in entity.links]
        return names

    def _templates(self) -> list[tuple[str, str]]:
        templates = []
        for label, entity in self.all_entities():
            templates.append((f"{label}.iri", entity.iri))
            for predicate, targets in entity.links.items():
                templates += [(f"{label}.links[{predicate!r}]", t) for t in targets]
            templates += [
                (f"{label}.properties[{p!r}]", v.template)
                for p, v in entity.properties.items()
                if v.template
            ]
        return templates

    def expand(self, name: str, *, where: str = "mapping") -> str:
        """Expand a CURIE (``npi:Product``); ``<iri>``, ``http(s)://`` and ``urn:`` pass as IRIs.

        Example:
            >>> Mapping().expand("xsd:date")
            'http://www.w3.org/2001/XMLSchema#date'
        """
        if name.startswith("<") and name.endswith(">"):
            return name[1:-1]
        prefix, colon, local = name.partition(":")
        known = {**PREFIXES, **self.prefixes}
        if colon and prefix in known:
            return known[prefix] + local
        if colon and (local.startswith("//") or prefix == "urn"):
            return name
        raise ValueError(
            f"{where}: prefix {prefix!r} of {name!r} is not declared; add it under prefixes: "
            f"(known: {', '.join(sorted(known))}) or write the full IRI as <...>"
        )

    def resolve(self, iri: str) -> str:
        """An IRI from a rendered template: absolute as it is, relative against the base."""
        return iri if is_absolute_iri(iri) else self.base + iri

    def columns(self) -> list[str]:
        """Every column the mapping reads, in order of first use."""
        return list(dict.fromkeys(column for _where, column in self._column_uses()))

    def check_columns(self, available: list[str], *, source: str) -> None:
        """Raise :class:`MappingError` naming the first column ``source`` lacks."""
        have = set(available)
        for where, column in self._column_uses():
            if column not in have:
                same_case = [name for name in available if name.lower() == column.lower()]
                close = same_case or difflib.get_close_matches(column, available, n=1)
                hint = f"did you mean {close[0]!r}?; " if close else ""
                raise MappingError(
                    f"{source}: {where} reads column {column!r}, which {source} does not have "
                    f"({hint}columns: {', '.join(available)})"
                )

    def _column_uses(self) -> list[tuple[str, str]]:
        uses = []
        for label, entity in self.all_entities():
            uses += [(f"{label}.iri", c) for c in Template.parse(entity.iri).columns]
            for predicate, targets in entity.links.items():
                where = f"{label}.links[{predicate!r}]"
                uses += [(where, c) for t in targets for c in Template.parse(t).columns]
            for predicate, value in entity.properties.items():
                where = f"{label}.properties[{predicate!r}]"
                if value.constant is None:
                    uses += [(where, c) for c in value.template_().columns]
        return uses

    def digest(self) -> str:
        """A hash of the mapping's meaning, recorded in provenance."""
        return hashlib.sha256(self.model_dump_json(by_alias=True).encode()).hexdigest()


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; errors name the file and the entry."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise MappingError(
            f"{path}: no such mapping file; check the path in kgsentinel.toml"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MappingError(f"{path}:{where} {problem} (fix the YAML syntax)") from None
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        raise MappingError(f"{path}: {_describe(exc)}") from None
    except MappingError as exc:
        raise MappingError(f"{path}: {exc}") from None


def _describe(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = "".join(
        f"[{part}]" if isinstance(part, int) else (f".{part}" if i else str(part))
        for i, part in enumerate(error["loc"])
    )
    if error["type"] == "value_error":
        message = str(error["ctx"]["error"])
    elif error["type"] == "extra_forbidden":
        message = "unknown key; see docs/mappings.md for the keys a mapping takes"
    else:
        message = str(error["msg"]).rstrip(".")
    more = len(exc.errors()) - 1
    return f"{where + ': ' if where else ''}{message}" + (f" (and {more} more)" if more else "")
