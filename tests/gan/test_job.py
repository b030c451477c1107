"""The GAN engine on the bundled faces-dcgan model, through a real Context on a temporary GENLOOM_HOME."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from models import jobs
from models.gallery import pngmeta
from models.gan import sampler
from models.gan.importer import import_model
from models.gan.job import FacesRequest, InterpolateRequest, to_uint8
from models.runtime.errors import BadInput
from models.runtime.events import Partial, Progress, Result

from .conftest import tiny_generator


def faces(ctx, **kw):
    return jobs.drive(FacesRequest(save=False, **kw), ctx)["images"]


def test_same_seed_gives_identical_pixels(ctx):
    first, again = faces(ctx, seed=7, count=3), faces(ctx, seed=7, count=3)
    assert first[0].shape == (64, 64, 3) and first[0].dtype == np.uint8
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_face_i_of_a_grid_is_face_0_of_seed_plus_i(ctx):
    grid = faces(ctx, seed=100, count=20)  # two batches
    alone = faces(ctx, seed=117, count=1)[0]
    np.testing.assert_array_equal(grid[17], alone)


def test_different_seeds_give_different_faces(ctx):
    a, b = faces(ctx, seed=1)[0], faces(ctx, seed=2)[0]
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 10


def test_truncation_zero_makes_every_seed_the_same_face(ctx):
    a, b = faces(ctx, seed=1, truncation=0.0)[0], faces(ctx, seed=99, truncation=0.0)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, faces(ctx, seed=1, truncation=0.7)[0])


def test_events_batches_and_partials(ctx):
    events = list(jobs.run(FacesRequest(seed=3, count=20, save=False), ctx))
    progress = [e for e in events if isinstance(e, Progress)]
    partials = [e for e in events if isinstance(e, Partial)]
    assert [(p.step, p.total) for p in progress] == [(1, 2), (2, 2)]
    assert [p.payload["index"] for p in partials] == list(range(20))
    assert isinstance(events[-1], Result) and sum(isinstance(e, Result) for e in events) == 1
    result = events[-1].payload
    assert result["files"] == [] and result["gallery_ids"] == [] and result["model"] == "faces-dcgan"
    np.testing.assert_array_equal(partials[5].payload["image"], result["images"][5])
    np.testing.assert_allclose(result["latents"][5], sampler.latent(8, 100), rtol=1e-6)


def test_saved_faces_land_in_the_gallery_with_their_request(ctx):
    result = jobs.drive(FacesRequest(seed=42, count=2, truncation=0.8), ctx)
    assert len(result["files"]) == 2 and len(result["gallery_ids"]) == 2
    item = ctx.gallery.get(result["gallery_ids"][1])
    assert item.kind == "faces" and item.model == "faces-dcgan" and item.seed == 43
    assert item.params["truncation"] == 0.8 and item.params["count"] == 2 and item.params["model"] == "faces-dcgan"
    assert Path(result["files"][1]).is_file()
    meta, _ = pngmeta.read_meta(result["files"][1])
    assert meta["params"]["seed"] == 42 and meta["params"]["face_seed"] == 43


@pytest.mark.parametrize("kw, words", [
    ({"count": 0}, "Count"), ({"count": 65}, "Count"), ({"count": 2.5}, "Count"),
    ({"truncation": -0.1}, "Truncation"), ({"truncation": 2.01}, "Truncation"),
    ({"truncation": math.nan}, "Truncation"), ({"seed": -1}, "Seed"), ({"seed": 2**32}, "Seed"),
    ({"model": "nope"}, "nope"),
])
def test_bad_face_requests_raise_one_line(ctx, kw, words):
    with pytest.raises(BadInput) as info:
        jobs.drive(FacesRequest(**kw), ctx)
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("kw", [{"frames": 1}, {"frames": 121}, {"truncation": 3.0}, {"seed_b": -5}])
def test_bad_interpolation_requests(ctx, kw):
    with pytest.raises(BadInput):
        jobs.drive(InterpolateRequest(**kw), ctx)


def test_interpolation_ends_are_the_faces_of_seed_a_and_b(ctx):
    psi = 0.7
    result = jobs.drive(InterpolateRequest(seed_a=11, seed_b=500, frames=18, truncation=psi, save=False), ctx)
    strip = result["images"]
    assert len(strip) == 18
    np.testing.assert_array_equal(strip[0], faces(ctx, seed=11, truncation=psi)[0])
    np.testing.assert_array_equal(strip[-1], faces(ctx, seed=500, truncation=psi)[0])
    steps = [np.abs(strip[i].astype(int) - strip[i + 1].astype(int)).mean() for i in range(17)]
    assert max(steps) < np.abs(strip[0].astype(int) - strip[-1].astype(int)).mean()  # gradual, not a jump


def test_interpolation_saves_its_frames(ctx):
    result = jobs.drive(InterpolateRequest(seed_a=1, seed_b=2, frames=3), ctx)
    assert len(result["gallery_ids"]) == 3
    assert [ctx.gallery.get(i).params["frame"] for i in result["gallery_ids"]] == [0, 1, 2]


def test_rank2_latent_and_0_1_range_model(ctx, tmp_path):
    """An imported [N, Z] -> sigmoid generator runs through the same job."""
    import_model(tiny_generator(tmp_path / "tiny.onnx", z_dim=8, size=4), ctx.registry, name="tiny-job")
    result = jobs.drive(FacesRequest(model="tiny-job", seed=3, count=17, save=False), ctx)
    assert len(result["images"]) == 17 and result["images"][0].shape == (4, 4, 3)
    z = sampler.latent(3, 8)
    weight = np.random.RandomState(0).randn(8, 48).astype(np.float32)
    expected = 1 / (1 + np.exp(-(z @ weight))).reshape(1, 3, 4, 4)  # (1, 3, 4, 4) in [0, 1]
    np.testing.assert_allclose(result["images"][0].astype(int), to_uint8(expected, 0, 1)[0].astype(int), atol=1)


def test_to_uint8_maps_the_range_ends():
    images = np.array([-1.0, 0.0, 1.0, 5.0]).reshape(1, 1, 1, 4).repeat(3, axis=1)  # (1, 3, 1, 4)
    assert to_uint8(images, -1, 1)[0, 0, :, 0].tolist() == [0, 128, 255, 255]
