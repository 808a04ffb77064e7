"""Service regions: China's administrative divisions, address resolution, team coverage, travel estimates.

Where this sits in the repair flow: intake hands the customer's address text to :meth:`DivisionCatalog.resolve`;
the resolved county (区/县, the unit dispatch works in) is checked against the team's :class:`Coverage` and then
passed to dispatch, which estimates travel between county centroids with :func:`travel_minutes`.

The divisions (34 provinces, 344 prefecture-level cities, ~3,100 county-level units, each with its six-digit
official code and a centroid) come from the data file that the ``cpca`` package ships
(``cpca/resources/adcodes.csv``); nothing here is typed by hand except the handful of suffix rules that say how
people abbreviate names (湖北省 → 湖北, 恩施土家族苗族自治州 → 恩施). We read the file without importing ``cpca``
itself because its import builds a second matcher and pulls in ``pkg_resources``; its own ``transform`` returns a
pandas frame per call and picks the first of several same-named counties, where we want a clear "ambiguous".
"""

from __future__ import annotations

import csv
import enum
import importlib.util
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from proofdesk.errors import InvalidSettings, UserInputError


class AddressNotResolved(UserInputError):
    """No administrative division could be found in the address text."""

    code = "address_not_resolved"


class AmbiguousAddress(UserInputError):
    """The address names a division that exists in several places (朝阳区: Beijing or Changchun)."""

    code = "address_ambiguous"

    def __init__(self, message: str, *, candidates: list[Division]) -> None:
        super().__init__(message)
        self.candidates = candidates


class AddressTooCoarse(UserInputError):
    """The address names only a province or city; dispatch needs the county or district."""

    code = "address_too_coarse"


class Level(enum.IntEnum):
    """Depth in the hierarchy (official code: PP0000 province, PPCC00 city, PPCCDD county)."""

    PROVINCE = 0
    CITY = 1
    COUNTY = 2


@dataclass(frozen=True, slots=True)
class Division:
    """One administrative division with its official six-digit code."""

    code: str
    name: str
    level: Level
    parent: str | None
    lat: float | None
    lon: float | None

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "level": self.level.name.lower()}


@dataclass(frozen=True, slots=True)
class Resolution:
    """An address resolved to a chain of divisions; ``county`` is the dispatch unit."""

    province: Division
    city: Division | None
    county: Division | None
    matched: tuple[str, ...]
    detail: str

    @property
    def leaf(self) -> Division:
        return self.county or self.city or self.province

    def path(self) -> str:
        return "/".join(d.name for d in (self.province, self.city, self.county) if d is not None)

    def to_dict(self) -> dict[str, object]:
        return {
            "province": self.province.to_dict(),
            "city": self.city.to_dict() if self.city else None,
            "county": self.county.to_dict() if self.county else None,
            "path": self.path(),
            "matched": list(self.matched),
            "detail": self.detail,
        }


# Abbreviations people write. Autonomous regions have fixed short names; other units drop their generic suffix.
_PROVINCE_SHORT = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "新疆维吾尔自治区": "新疆",
    "宁夏回族自治区": "宁夏",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}
_PROVINCE_SUFFIX = re.compile(r"(省|市)$")
# 阿里地区 → 阿里, 黄石市 → 黄石; a 盟 keeps its name. Autonomous units (恩施土家族苗族自治州, 长阳土家族自治县) are cut
# before the first ethnic-group name, taken from the 56_nations.csv list that cpca ships beside the divisions.
_CITY_SUFFIX = re.compile(r"(地区|市)$")
# Only county-level cities and autonomous counties are commonly shortened (大冶市 → 大冶, 长阳土家族自治县 → 长阳);
# dropping 区/县 from ordinary districts would turn 东区 into 东 and match everywhere.
_COUNTY_SUFFIX = re.compile(r"市$")
_AUTONOMOUS = re.compile(r"自治(州|县|旗)$")
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
_NOISE = re.compile(r"[\s,，。.、;；:：·\-—_/()（）\[\]【】#＃\"'“”]+")


def _overlap(a: tuple[int, int, list[str]], b: tuple[int, int, list[str]]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _default_data_file() -> Path:
    # find_spec locates the installed package without executing its __init__ (see the module docstring).
    spec = importlib.util.find_spec("cpca")
    if spec is None or spec.origin is None:
        raise InvalidSettings("the cpca package (administrative division data) is not installed")
    return Path(spec.origin).parent / "resources" / "adcodes.csv"


@dataclass
class DivisionCatalog:
    """All divisions, indexed by code and by every name and short name they are written as."""

    divisions: dict[str, Division]
    children: dict[str, list[str]]
    nations: tuple[str, ...] = ()
    _names: dict[str, list[str]] = field(default_factory=dict)
    _max_name: int = 0

    @classmethod
    def load(cls, path: Path | None = None) -> DivisionCatalog:
        """Read the division table (``adcode,name,longitude,latitude``) shipped by ``cpca``."""
        path = path or _default_data_file()
        try:
            with path.open(encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as exc:
            raise InvalidSettings(f"cannot read division data {path}: {exc}") from exc
        raw: dict[str, tuple[str, float | None, float | None]] = {}
        for row in rows:
            code = row["adcode"][:6]
            lon = float(row["longitude"]) if row["longitude"] else None
            lat = float(row["latitude"]) if row["latitude"] else None
            raw[code] = (row["name"], lat, lon)
        divisions: dict[str, Division] = {}
        for code, (name, lat, lon) in raw.items():
            if name in _PLACEHOLDERS:
                continue  # 市辖区 / 省直辖县级行政区划 are bookkeeping rows, never written in an address
            level = Level.PROVINCE if code.endswith("0000") else Level.CITY if code.endswith("00") else Level.COUNTY
            parent: str | None = None
            if level is Level.CITY:
                parent = code[:2] + "0000"
            elif level is Level.COUNTY:
                city = code[:4] + "00"
                # Municipalities (北京) and province-administered counties (仙桃) have no real city level.
                parent = city if city in raw and raw[city][0] not in _PLACEHOLDERS else code[:2] + "0000"
            divisions[code] = Division(code, name, level, parent, lat, lon)
        # Fill missing centroids from the parent so every division has a travel anchor.
        for code, div in list(divisions.items()):
            if div.lat is None and div.parent in divisions:
                p = divisions[div.parent]
                divisions[code] = Division(div.code, div.name, div.level, div.parent, p.lat, p.lon)
        children: dict[str, list[str]] = defaultdict(list)
        for div in divisions.values():
            if div.parent is not None:
                children[div.parent].append(div.code)
        nations_file = path.parent / "56_nations.csv"
        # Longest first, and also without 族 (伊犁哈萨克自治州 names the group as 哈萨克).
        text = nations_file.read_text(encoding="utf-8") if nations_file.exists() else ""
        names = {n.strip() for n in text.split()}
        names |= {n[:-1] for n in names if n.endswith("族") and len(n) > 2} | {"各族"}  # 隆林各族自治县
        catalog = cls(divisions=divisions, children=dict(children), nations=tuple(sorted(names, key=len, reverse=True)))
        catalog._index_names()
        return catalog

    def _index_names(self) -> None:
        names: dict[str, list[str]] = defaultdict(list)
        for div in self.divisions.values():
            for alias in self.aliases(div):
                if div.code not in names[alias]:
                    names[alias].append(div.code)
        self._names = dict(names)
        self._max_name = max(len(n) for n in names)

    def aliases(self, div: Division) -> list[str]:
        """The full name and the short forms people write for it."""
        out = [div.name]
        if div.level is Level.PROVINCE:
            short = _PROVINCE_SHORT.get(div.name) or _PROVINCE_SUFFIX.sub("", div.name)
        elif _AUTONOMOUS.search(div.name):
            cut = min((i for i in (div.name.find(n) for n in self.nations) if i > 0), default=len(div.name))
            short = div.name[:cut] if cut < len(div.name) else _AUTONOMOUS.sub("", div.name)
            if div.level is Level.CITY and len(short) >= 2:
                out.append(short + "州")  # 恩施州, 湘西州: how 自治州 are named in everyday addresses
        elif div.level is Level.CITY:
            short = _CITY_SUFFIX.sub("", div.name)
        else:
            short = _COUNTY_SUFFIX.sub("", div.name)
        if short != div.name and len(short) >= 2:
            out.append(short)
        return out

    def get(self, code: str) -> Division:
        try:
            return self.divisions[code]
        except KeyError:
            raise UserInputError(f"unknown division code {code!r}", code="unknown_division") from None

    def chain(self, code: str) -> list[Division]:
        """Province first, down to ``code``."""
        out: list[Division] = []
        cur: str | None = code
        while cur is not None:
            div = self.divisions[cur]
            out.append(div)
            cur = div.parent
        return out[::-1]

    def is_leaf(self, code: str) -> bool:
        return not self.children.get(code)

    def leaves_under(self, code: str) -> Iterator[str]:
        """County-level units under ``code`` (a city without counties, such as 东莞市, is its own leaf)."""
        stack = [code]
        while stack:
            cur = stack.pop()
            kids = self.children.get(cur)
            if kids:
                stack.extend(kids)
            else:
                yield cur

    def leaves(self) -> list[str]:
        return [c for c in self.divisions if self.is_leaf(c)]

    # -- address resolution -------------------------------------------------------------------------------

    def _mentions(self, text: str) -> list[tuple[int, int, list[str]]]:
        """Every substring that is a division name: (start, end, candidate codes), overlaps included.

        Overlaps matter: in 济南市中区 the text holds both 济南市 + 中区 and 济南 + 市中区; which reading wins is
        decided by the chain scoring in :meth:`resolve`, which never uses two overlapping mentions together.
        """
        out: list[tuple[int, int, list[str]]] = []
        n = len(text)
        for i in range(n):
            for length in range(min(self._max_name, n - i), 1, -1):
                codes = self._names.get(text[i : i + length])
                if codes:
                    out.append((i, i + length, codes))
        return out

    def resolve(self, text: str) -> Resolution:
        """Resolve address text to province/city/county.

        Every name found in the text proposes its divisions; each proposal is scored by how many levels of its
        own chain (province, city, itself) the text mentions, then by depth, then by how early it appears
        (divisions come first in Chinese addresses, so a later 中山路 does not outvote an earlier 黄石港区).
        A tie between unrelated divisions is :class:`AmbiguousAddress`; no name at all is
        :class:`AddressNotResolved`.
        """
        clean = _NOISE.sub("", unicodedata.normalize("NFKC", text or ""))
        if not clean:
            raise AddressNotResolved("the address is empty")
        mentions = self._mentions(clean)
        if not mentions:
            raise AddressNotResolved(f"no province, city or county name found in {text!r}")
        at: dict[str, list[int]] = defaultdict(list)  # code -> indices of the mentions that name it
        for idx, (_start, _end, codes) in enumerate(mentions):
            for code in codes:
                at[code].append(idx)
        best: list[tuple[tuple[int, int, int], str, frozenset[int]]] = []
        for code, idxs in at.items():
            chain = self.chain(code)
            scored = [self._score(chain, own, at, mentions) for own in idxs]
            key, used = max(scored, key=lambda ku: ku[0])
            best.append((key, code, used))
        best.sort(reverse=True)
        top_key, top_code, top_used = best[0]
        rivals = [c for k, c, _ in best[1:] if k == top_key and c != top_code]
        if rivals:
            cands = [self.divisions[c] for c in [top_code, *rivals]]
            names = "、".join("/".join(d.name for d in self.chain(c.code)) for c in cands)
            raise AmbiguousAddress(f"{text!r} could be {names}; please add the city", candidates=cands)
        chain = self.chain(top_code)
        province = chain[0]
        city = next((d for d in chain if d.level is Level.CITY), None)
        county = chain[-1] if chain[-1].level is Level.COUNTY else None
        last_end = max(mentions[i][1] for i in top_used)
        matched = tuple(clean[mentions[i][0] : mentions[i][1]] for i in sorted(top_used))
        return Resolution(province, city, county, matched, clean[last_end:])

    @staticmethod
    def _score(
        chain: list[Division], own: int, at: dict[str, list[int]], mentions: list[tuple[int, int, list[str]]]
    ) -> tuple[tuple[int, int, int], frozenset[int]]:
        """Score reading mention ``own`` as ``chain[-1]``.

        Each mention may stand for one level only and two used mentions may not overlap (恩施 cannot be both
        恩施州 and 恩施市; 济南市中区 is 济南 + 市中区 or 济南市 + 中区, never both), walking the chain from the
        province down; ancestors mentioned after their descendant score lower, and so does a mention that sits
        inside a longer name (黄石 inside 黄石港区 is not the city).
        """
        o_start, o_end = mentions[own][0], mentions[own][1]
        used: set[int] = {own}
        prev, hits, ordered = -1, 0, True
        for div in chain[:-1]:
            free = [i for i in at.get(div.code, ()) if not any(_overlap(mentions[i], mentions[u]) for u in used)]
            pick = next((i for i in free if i > prev and mentions[i][1] <= o_start), None)
            if pick is None and free:
                pick, ordered = free[0], False
            if pick is not None:
                used.add(pick)
                hits += 1
                prev = pick
        inside = any(s <= o_start and o_end <= e and (e - s) > (o_end - o_start) for s, e, _ in mentions)
        key = (hits + 1 + (1 if ordered else 0) - (1 if inside else 0), int(chain[-1].level), -o_start)
        return key, frozenset(used)

    def resolve_leaf(self, text: str) -> tuple[Resolution, Division]:
        """Resolve and insist on a dispatch unit (a county, or a city without counties)."""
        res = self.resolve(text)
        leaf = res.leaf
        if not self.is_leaf(leaf.code):
            raise AddressTooCoarse(f"{text!r} names only {res.path()}; please add the district or county")
        return res, leaf


@dataclass(frozen=True)
class Coverage:
    """The set of dispatch units (leaf codes) a team or technician serves, built from any-level codes."""

    leaves: frozenset[str]
    declared: tuple[str, ...] = ()

    @classmethod
    def of(cls, catalog: DivisionCatalog, codes: Iterable[str]) -> Coverage:
        declared = tuple(codes)
        leaves: set[str] = set()
        for code in declared:
            catalog.get(code)
            leaves.update(catalog.leaves_under(code))
        return cls(frozenset(leaves), declared)

    def covers(self, leaf_code: str) -> bool:
        return leaf_code in self.leaves


class OutsideCoverage(UserInputError):
    """The address resolves, but no service team covers it: a clear answer instead of a silent queue."""

    code = "outside_coverage"


def distance_km(a: Division, b: Division) -> float:
    """Great-circle distance between two division centroids (haversine)."""
    if a.code == b.code:
        return 0.0
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return math.inf
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


# Roads are not straight lines: a detour factor of 1.3 and 40 km/h door to door is the usual planning figure for
# mixed urban/county roads; within one county we charge a flat 25 minutes (parking, stairs, finding the unit).
ROAD_FACTOR = 1.3
ROAD_SPEED_KMH = 40.0
SAME_COUNTY_MINUTES = 25.0


def travel_minutes(a: Division, b: Division) -> float:
    """Travel estimate between two dispatch units from their centroids."""
    if a.code == b.code:
        return SAME_COUNTY_MINUTES
    return SAME_COUNTY_MINUTES + distance_km(a, b) * ROAD_FACTOR / ROAD_SPEED_KMH * 60.0
