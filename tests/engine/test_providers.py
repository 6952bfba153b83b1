"""The provider format: one parser, one set of defaults, errors that name their field."""

import pytest

from maps.engine import (
    CombinationProvider,
    FitsError,
    FitsProvider,
    ProviderError,
    check_same_grid,
    inspect_plane,
    parse_provider,
)
from maps.engine.providers import filenames, unknown_keys

A = {"provider_type": "fits", "filename": "/m/a.fits"}
B = {"provider_type": "fits", "filename": "/m/b.fits", "hdu": 1, "index": 2}

valid_inputs = [
    (A, FitsProvider(filename="/m/a.fits", hdu=0, index=None)),
    ({"filename": "/m/a.fits"}, FitsProvider(filename="/m/a.fits")),
    ({**A, "hdu": None}, FitsProvider(filename="/m/a.fits", hdu=0)),
    ({**A, "index": None}, FitsProvider(filename="/m/a.fits", index=None)),
    (B, FitsProvider(filename="/m/b.fits", hdu=1, index=2)),
    (
        {"provider_type": "fits_combination", "function": "/", "providers": [A, B]},
        CombinationProvider(
            inputs=(FitsProvider(filename="/m/a.fits"), FitsProvider("/m/b.fits", 1, 2)),
            function="/",
        ),
    ),
    (
        {"provider_type": "fits_combination", "function": "mean", "providers": [{"filename": "x"}]},
        CombinationProvider(inputs=(FitsProvider(filename="x"),), function="mean"),
    ),
]


@pytest.mark.parametrize(("value", "expected"), valid_inputs)
def test_valid_inputs(value, expected):
    parsed = parse_provider(value)
    assert parsed == expected
    assert parse_provider(parsed.to_dict()) == parsed


def test_to_dict_is_the_canonical_stored_form():
    assert parse_provider({"filename": "/m/a.fits", "hdu": None}).to_dict() == {
        "provider_type": "fits",
        "filename": "/m/a.fits",
        "hdu": 0,
        "index": None,
    }
    combination = {"provider_type": "fits_combination", "function": "+", "providers": [A]}
    assert parse_provider(combination).to_dict() == {
        "provider_type": "fits_combination",
        "providers": [{"provider_type": "fits", "filename": "/m/a.fits", "hdu": 0, "index": None}],
        "function": "+",
    }


def combination(*entries, function="+"):
    return {"provider_type": "fits_combination", "function": function, "providers": list(entries)}


invalid_inputs = [
    ("not a dict", "provider", "expected an object, found the string 'not a dict'"),
    (None, "provider", "expected an object, found null"),
    ({"provider_type": "hips"}, "provider.provider_type", "'hips' is not one of"),
    ({"provider_type": "fits"}, "provider.filename", "missing (required)"),
    ({"filename": ""}, "provider.filename", "expected a file name, found the string ''"),
    ({"filename": 3}, "provider.filename", "expected a file name, found the number 3"),
    ({**A, "hdu": -1}, "provider.hdu", "expected an integer >= 0, found the number -1"),
    ({**A, "hdu": True}, "provider.hdu", "expected an integer >= 0, found a boolean"),
    ({**A, "hdu": "0"}, "provider.hdu", "expected an integer >= 0, found the string '0'"),
    ({**A, "index": 1.0}, "provider.index", "expected an integer >= 0 or null, found the number"),
    ({**A, "index": -2}, "provider.index", "expected an integer >= 0 or null, found the number"),
    (combination(A, function="^"), "provider.function", "'^' is not one of + - * / max min mean"),
    (combination(A, function=None), "provider.function", "None is not one of"),
    (combination(), "provider.providers", "expected a non-empty list of fits providers"),
    ({**combination(A), "providers": A}, "provider.providers", "expected a non-empty list"),
    (combination(A, [A]), "provider.providers[1]", "expected an object, found a list"),
    (
        combination(A, combination(A)),
        "provider.providers[1].provider_type",
        "'fits_combination': a combination takes fits or healpix providers only",
    ),
    (combination(A, {"hdu": 0}), "provider.providers[1].filename", "missing (required)"),
    (combination(A, {**B, "hdu": None, "index": "I"}), "provider.providers[1].index", "'I'"),
]


@pytest.mark.parametrize(("value", "field", "message"), invalid_inputs)
def test_invalid_inputs(value, field, message):
    with pytest.raises(ProviderError) as caught:
        parse_provider(value)
    assert caught.value.field == field
    assert message in caught.value.message
    assert str(caught.value) == f"{field}: {caught.value.message}"
    assert isinstance(caught.value, FitsError), "the web layer maps it like any unusable file"


def test_every_problem_is_listed():
    value = combination({"filename": 1}, {**A, "hdu": -1}, function="pow")
    with pytest.raises(ProviderError) as caught:
        parse_provider(value, field="layers[0].provider")
    assert [field for field, _ in caught.value.problems] == [
        "layers[0].provider.function",
        "layers[0].provider.providers[0].filename",
        "layers[0].provider.providers[1].hdu",
    ]


def test_located_inputs_name_each_file():
    parsed = parse_provider(combination(A, B))
    assert [field for field, _ in parsed.located_inputs()] == [
        "provider.providers[0]",
        "provider.providers[1]",
    ]
    assert parse_provider(A).located_inputs("x") == [("x", FitsProvider("/m/a.fits"))]


def test_unknown_keys_are_reported_where_they_are():
    value = combination({**A, "colour": 1}, B)
    value["note"] = "x"
    assert unknown_keys(value) == [("provider", "note"), ("provider.providers[0]", "colour")]
    assert unknown_keys({**A, "bounding_left": 0}) == [("provider", "bounding_left")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (combination(A, B), ["/m/a.fits", "/m/b.fits"]),
        ({"provider_type": "fits", "filename": "/m/a.fits", "hdu": 0}, ["/m/a.fits"]),
        (
            {
                "provider_type": "fits_combination",
                "function": "/",
                "providers": [
                    {"provider_type": "fits", "filename": "/m/a.fits"},
                    {
                        "provider_type": "fits_combination",
                        "function": "+",
                        "providers": [{"provider_type": "fits", "filename": "/m/b.fits"}],
                    },
                ],
            },
            ["/m/a.fits", "/m/b.fits"],
        ),
        ({"provider_type": "fits"}, []),
        ({"hdu": 0}, []),
        ("not a dict", []),
        ([A], []),
    ],
)
def test_filenames_never_raise(value, expected):
    """The deploy check (W001) and the admin list every file a stored row names, even a bad one."""
    assert filenames(value) == expected


GRID = dict(nx=40, ny=20, pixel_scale_deg=0.25, ra_left_deg=10.0, dec_bottom_deg=-3.0)


@pytest.mark.parametrize(
    ("other", "difference"),
    [
        (dict(GRID, nx=41), "in size"),
        (dict(GRID, ra_left_deg=20.0), "in sky position or pixel scale (WCS)"),
        (dict(GRID, dec_bottom_deg=-2.0), "in sky position or pixel scale (WCS)"),
        (dict(GRID, cdelt1_negative=False), "in sky position or pixel scale (WCS)"),
    ],
)
def test_one_same_grid_rule(make_car_map, other, difference):
    first = inspect_plane(str(make_car_map("a.fits", **GRID)))
    same = inspect_plane(str(make_car_map("same.fits", **GRID)))
    moved = inspect_plane(str(make_car_map("b.fits", **other)))
    check_same_grid([first, same])
    with pytest.raises(ProviderError) as caught:
        check_same_grid([first, same, moved], field="layer.provider")
    assert caught.value.field == "layer.provider.providers[2]"
    assert caught.value.message.startswith(f"{moved.path}: pixel grid ")
    assert f"differs from providers[0] (40 x 20 at RA 0..10, Dec -3..2) {difference}" in (
        caught.value.message
    )
