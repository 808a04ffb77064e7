"""Address resolution and coverage on the real division table shipped by cpca."""

from __future__ import annotations

import pytest

from proofdesk.repair.regions import (
    AddressNotResolved,
    AddressTooCoarse,
    AmbiguousAddress,
    Coverage,
    DivisionCatalog,
    Level,
    distance_km,
    travel_minutes,
)


@pytest.fixture(scope="module")
def catalog() -> DivisionCatalog:
    return DivisionCatalog.load()


def test_catalog_has_the_official_hierarchy(catalog: DivisionCatalog) -> None:
    levels = [d.level for d in catalog.divisions.values()]
    assert levels.count(Level.PROVINCE) == 34
    assert levels.count(Level.CITY) > 300
    assert levels.count(Level.COUNTY) > 2800
    assert [d.name for d in catalog.chain("420202")] == ["湖北省", "黄石市", "黄石港区"]
    # municipalities and province-administered counties have no city level
    assert [d.name for d in catalog.chain("110105")] == ["北京市", "朝阳区"]
    assert [d.code for d in catalog.chain("429004")] == ["420000", "429004"]
    assert all(d.lat is not None for d in catalog.divisions.values() if d.level is Level.COUNTY)


@pytest.mark.parametrize(
    ("text", "path", "code"),
    [
        ("黄石市黄石港区湖滨大道8号", "湖北省/黄石市/黄石港区", "420202"),
        ("湖北黄石黄石港区", "湖北省/黄石市/黄石港区", "420202"),
        ("黄石港区中山路5号", "湖北省/黄石市/黄石港区", "420202"),  # 中山路 is a street, not 中山市
        ("广东省广州市越秀区北京路100号", "广东省/广州市/越秀区", "440104"),
        ("北京市朝阳区建国路", "北京市/朝阳区", "110105"),
        ("吉林省长春市朝阳区人民大街", "吉林省/长春市/朝阳区", "220104"),
        ("吉林吉林船营区", "吉林省/吉林市/船营区", "220204"),
        ("济南市中区经十路", "山东省/济南市/市中区", "370103"),
        ("恩施州利川市", "湖北省/恩施土家族苗族自治州/利川市", "422802"),
        ("长阳土家族自治县龙舟坪镇", "湖北省/宜昌市/长阳土家族自治县", "420528"),
        ("东莞市南城街道", "广东省/东莞市", "441900"),
        ("湖北省仙桃市", "湖北省/仙桃市", "429004"),
        ("上海　浦东新区，世纪大道１００号", "上海市/浦东新区", "310115"),  # full-width digits and spaces
    ],
)
def test_resolves_real_format_addresses(catalog: DivisionCatalog, text: str, path: str, code: str) -> None:
    res = catalog.resolve(text)
    assert res.path() == path
    assert res.leaf.code == code


def test_detail_is_what_follows_the_divisions(catalog: DivisionCatalog) -> None:
    assert catalog.resolve("湖北省黄石市黄石港区湖滨大道8号").detail == "湖滨大道8号"


def test_same_named_district_without_city_is_ambiguous(catalog: DivisionCatalog) -> None:
    with pytest.raises(AmbiguousAddress) as err:
        catalog.resolve("朝阳区建国路88号")
    assert {d.code for d in err.value.candidates} == {"110105", "220104"}
    assert err.value.code == "address_ambiguous"


def test_unresolvable_and_coarse_addresses_are_typed_errors(catalog: DivisionCatalog) -> None:
    with pytest.raises(AddressNotResolved):
        catalog.resolve("幸福小区3栋501")
    with pytest.raises(AddressNotResolved):
        catalog.resolve("   ")
    with pytest.raises(AddressTooCoarse):
        catalog.resolve_leaf("湖北省黄石市")
    res, leaf = catalog.resolve_leaf("东莞市南城街道")  # a city without counties is a dispatch unit itself
    assert leaf.code == "441900" and res.county is None


def test_coverage_expands_any_level_to_counties(catalog: DivisionCatalog) -> None:
    cov = Coverage.of(catalog, ["420200", "110105"])
    assert cov.covers("420202") and cov.covers("420281") and cov.covers("110105")
    assert not cov.covers("110108")
    assert len(cov.leaves) == len(list(catalog.leaves_under("420200"))) + 1


def test_travel_grows_with_distance(catalog: DivisionCatalog) -> None:
    hsg, xss, wuchang = (catalog.divisions[c] for c in ("420202", "420203", "420106"))
    assert distance_km(hsg, hsg) == 0.0
    assert 0 < distance_km(hsg, xss) < 10
    assert 60 < distance_km(hsg, wuchang) < 100  # Huangshi to Wuhan is ~80 km
    assert travel_minutes(hsg, hsg) < travel_minutes(hsg, xss) < travel_minutes(hsg, wuchang)
