"""Load the shipped Sigma rules with pySigma and expose what cabhunt needs about each one.

Every call parses the YAML again: pySigma processing pipelines mutate rule objects in place, so a
rule collection is never shared between two pipelines (or two conversions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RULES_DIR = Path(__file__).resolve().parent
SIGMA_DIR = RULES_DIR / "sigma"
REGRESSION_DIR = RULES_DIR / "regression"
PIPELINE_DIR = RULES_DIR / "pipelines"

# The four playbook rules; everything else shipped is a supporting rule.
PLAYBOOK_SLUGS: tuple[str, ...] = (
    "makecab_download_cab",
    "makecab_network",
    "diantz_network",
    "diantz_download_cab",
)


class RuleIdentity:
    """The ids a rule carries, shared by parsed and compiled rules (subclasses set the fields)."""

    playbook_id: str | None
    uuid: str
    slug: str

    @property
    def rule_id(self) -> str:
        """The id alerts carry: the playbook id for the four playbook rules, else the UUID."""
        return self.playbook_id or self.uuid

    @property
    def playbook(self) -> bool:
        return self.slug in PLAYBOOK_SLUGS


@dataclass
class LoadedRule(RuleIdentity):
    """One parsed Sigma rule with its cabhunt identity (playbook id, slug, Sigma UUID)."""

    slug: str
    name: str
    playbook_id: str | None
    uuid: str
    level: str | None
    status: str | None
    category: str | None
    product: str | None
    tags: list[str]
    falsepositives: list[str]
    description: str
    path: Path
    sigma: Any = field(repr=False)  # sigma.rule.SigmaRule


    @property
    def techniques(self) -> list[str]:
        """ATT&CK technique ids from the tags (``attack.t1564.004`` -> ``T1564.004``)."""
        out = []
        for tag in self.tags:
            ns, _, name = tag.partition(".")
            if ns == "attack" and name[:1] == "t" and name[1:2].isdigit():
                out.append(name.upper())
        return out

    @property
    def regression_info(self) -> Path | None:
        rel = self.sigma.custom_attributes.get("regression_tests_path")
        if not rel:
            return None
        return RULES_DIR / str(rel)

    def summary(self) -> dict[str, Any]:
        """The ``rules list --format json`` row."""
        return {
            "slug": self.slug,
            "id": self.rule_id,
            "uuid": self.uuid,
            "name": self.name,
            "playbook": self.playbook,
            "logsource": {"category": self.category, "product": self.product},
            "level": self.level,
            "status": self.status,
            "techniques": self.techniques,
            "tags": self.tags,
            "falsepositives": self.falsepositives,
            "file": str(self.path.relative_to(RULES_DIR)),
            "kind": "detection",
        }


def _yaml_docs(text: str) -> list[Any]:
    """YAML documents via libyaml when available (several times faster than pure-Python parsing)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [d for d in yaml.load_all(text, Loader=loader) if d is not None]


def parse_file(path: Path) -> Any:
    """A fresh ``SigmaCollection`` of one rule file."""
    from sigma.collection import SigmaCollection

    return SigmaCollection.from_dicts(_yaml_docs(path.read_text(encoding="utf-8")))


CORRELATION_DIR = SIGMA_DIR / "correlations"


def rule_files() -> list[Path]:
    """Detection rule files (correlation rules live apart, see :func:`correlation_files`)."""
    return sorted(p for p in SIGMA_DIR.rglob("*.yml") if CORRELATION_DIR not in p.parents)


def correlation_files() -> list[Path]:
    return sorted(CORRELATION_DIR.glob("*.yml"))


@dataclass
class LoadedCorrelation:
    """A Sigma correlation rule: the SIEM form of a correlation cabhunt evaluates in ``detect.network``."""

    slug: str
    name: str
    playbook_id: str | None
    uuid: str
    type: str
    rules: list[str]  # slugs (Sigma ``name``) of the referenced rules
    group_by: list[str]
    timespan_s: int
    level: str | None
    tags: list[str]
    falsepositives: list[str]
    path: Path
    sigma: Any = field(repr=False)

    @property
    def rule_id(self) -> str:
        return self.playbook_id or self.uuid

    @property
    def regression_info(self) -> Path | None:
        rel = self.sigma.custom_attributes.get("regression_tests_path")
        return RULES_DIR / str(rel) if rel else None

    def summary(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "id": self.rule_id,
            "uuid": self.uuid,
            "name": self.name,
            "playbook": False,
            "kind": "correlation",
            "correlation": {"type": self.type, "rules": self.rules, "group_by": self.group_by, "timespan_s": self.timespan_s},
            "level": self.level,
            "tags": self.tags,
            "falsepositives": self.falsepositives,
            "file": str(self.path.relative_to(RULES_DIR)),
        }


def correlation_collection(path: Path) -> Any:
    """A fresh collection of one correlation file plus every detection rule it may reference."""
    from sigma.collection import SigmaCollection

    docs: list[Any] = []
    for rule_path in rule_files():
        docs.extend(_yaml_docs(rule_path.read_text(encoding="utf-8")))
    docs.extend(_yaml_docs(path.read_text(encoding="utf-8")))
    return SigmaCollection.from_dicts(docs)


def load_correlations(slugs: list[str] | None = None) -> list[LoadedCorrelation]:
    """Parse the shipped correlation rules, optionally only ``slugs``."""
    out: list[LoadedCorrelation] = []
    for path in correlation_files():
        coll = correlation_collection(path)
        for rule in coll.rules:
            if not hasattr(rule, "correlation_rules") and not hasattr(rule, "timespan"):
                continue
            custom = rule.custom_attributes
            out.append(
                LoadedCorrelation(
                    slug=str(custom.get("slug") or rule.name or path.stem),
                    name=str(rule.title),
                    playbook_id=str(custom["playbook_id"]) if custom.get("playbook_id") else None,
                    uuid=str(rule.id),
                    type=str(getattr(rule.type, "name", rule.type)).lower(),
                    rules=[str(r.reference) for r in rule.rules],
                    group_by=list(rule.group_by or []),
                    timespan_s=int(rule.timespan.seconds),
                    level=rule.level.name.lower() if rule.level else None,
                    tags=[f"{t.namespace}.{t.name}" for t in rule.tags],
                    falsepositives=[str(f) for f in rule.falsepositives or []],
                    path=path,
                    sigma=rule,
                )
            )
    if slugs is not None:
        wanted = set(slugs)
        out = [c for c in out if c.slug in wanted]
    return out


def load_collection(paths: list[Path] | None = None) -> Any:
    """A fresh pySigma ``SigmaCollection`` of the shipped rules (or of ``paths``)."""
    from sigma.collection import SigmaCollection

    files = paths if paths is not None else rule_files()
    return SigmaCollection.merge([parse_file(p) for p in files])


def _wrap(rule: Any, path: Path) -> LoadedRule:
    custom = rule.custom_attributes
    slug = str(custom.get("slug") or rule.name or path.stem)
    return LoadedRule(
        slug=slug,
        name=str(rule.title),
        playbook_id=str(custom["playbook_id"]) if custom.get("playbook_id") else None,
        uuid=str(rule.id),
        level=rule.level.name.lower() if rule.level else None,
        status=rule.status.name.lower() if rule.status else None,
        category=rule.logsource.category,
        product=rule.logsource.product,
        tags=[f"{t.namespace}.{t.name}" for t in rule.tags],
        falsepositives=[str(f) for f in rule.falsepositives or []],
        description=" ".join(str(rule.description or "").split()),
        path=path,
        sigma=rule,
    )


def load_rules(slugs: list[str] | None = None) -> list[LoadedRule]:
    """Parse every shipped rule (playbook rules first, in playbook order), optionally only ``slugs``."""
    out: list[LoadedRule] = []
    for path in rule_files():
        coll = parse_file(path)
        out.extend(_wrap(rule, path) for rule in coll.rules)
    order = {s: i for i, s in enumerate(PLAYBOOK_SLUGS)}
    out.sort(key=lambda r: (order.get(r.slug, len(order)), r.slug))
    if slugs is not None:
        wanted = set(slugs)
        out = [r for r in out if r.slug in wanted]
    return out


def load_pipeline(name: str) -> Any:
    """A pySigma ``ProcessingPipeline`` built from our YAML in ``pipelines/`` (never a plugin)."""
    from sigma.processing.pipeline import ProcessingPipeline

    path = PIPELINE_DIR / f"{name}.yml"
    return ProcessingPipeline.from_dict(_yaml_docs(path.read_text(encoding="utf-8"))[0])


def pipeline_names() -> list[str]:
    return sorted(p.stem for p in PIPELINE_DIR.glob("*.yml"))
