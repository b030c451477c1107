"""Renderer, scorer and tokenizer of the shapes recipe (no torch, no model files needed)."""
import random

import numpy as np

from models.zoo.shapes import render, score, tokenizer


def test_caption_names_drawn_content():
    rng = random.Random(3)
    for _ in range(200):
        scene = render.random_scene(rng)
        text = render.caption(scene)
        for o in scene.objects:
            assert f"{o.colour} {o.shape}" in text
            if o.say_position:
                assert render.POSITION_PHRASE[o.position] in text
            if o.say_size:
                assert f"{o.size} {o.colour}" in text
        assert (f"on a {scene.background} background" in text) == (scene.background is not None)
        assert all(o.colour != scene.background for o in scene.objects)


def test_drawn_pixels_match_caption():
    scene = render.Scene([render.Obj("red", "square", "large", "left")], "blue")
    img = render.draw(scene).astype(int)
    assert np.abs(img[32, 16] - render.COLOURS["red"]).max() < 3  # object centre
    assert np.abs(img[32, 56] - render.COLOURS["blue"]).max() < 3  # background on the right
    assert np.abs(img[4, 4] - render.COLOURS["blue"]).max() < 3


def test_scorer_reads_renders_and_rejects_wrong_captions():
    singles, doubles = render.eval_scenes()
    rng = random.Random(5)
    good = score.adherence([render.draw(s, rng) for s in singles + doubles], singles + doubles)
    assert good["colour"] == 100.0 and good["shape"] >= 95.0
    swapped = [render.Scene([render.Obj("green" if o.colour != "green" else "red",
                                        render.SHAPES[(render.SHAPES.index(o.shape) + 1) % 4],
                                        o.size, o.position) for o in s.objects], s.background)
               for s in singles]
    bad = score.adherence([render.draw(s) for s in swapped], singles)
    assert bad["colour"] == 0.0 and bad["shape"] <= 10.0


def test_held_out_prompts_are_fixed_and_never_trained():
    a, b = render.eval_scenes()
    assert [render.caption(s) for s in a] == [render.caption(s) for s in render.eval_scenes()[0]]
    assert len(a) == 48 and len(b) == 24 and all(len(s.objects) == 2 for s in b)
    held = render.held_out_captions()
    assert len(held) == 72 and "a small green circle on the left" in held


def test_tokenizer_is_clip_bpe(tmp_path):
    folder = tokenizer.write_tokenizer(tmp_path / "tok")
    tok = tokenizer.load(folder)
    ids = tokenizer.encode(tok, ["a small red circle on the left", ""])
    assert ids.shape == (2, 77)
    bos, eos = tok.token_to_id("<|startoftext|>"), tok.token_to_id("<|endoftext|>")
    assert ids[0, 0] == bos and ids[0, 8] == eos and (ids[0, 8:] == eos).all()
    assert list(ids[1, :2]) == [bos, eos]
    assert tok.encode("triangle", add_special_tokens=False).tokens[:1] == ["triangle</w>"]
    assert (folder / "merges.txt").read_text().startswith("#version")
    long = tokenizer.encode(tok, ["red " * 200])
    assert long.shape == (1, 77) and long[0, -1] == eos


def test_app_clip_tokenizer_reads_the_same_ids(tmp_path):
    from models.diffusion.clip_tokenizer import ClipTokenizer

    folder = tokenizer.write_tokenizer(tmp_path / "tok")
    ours = tokenizer.load(folder)
    app = ClipTokenizer(folder)
    for text in ("a small red circle on the left and a large blue star on the right on a white background",
                 "", "A Purple TRIANGLE, at the top!"):
        assert list(app.encode(text).ids) == tokenizer.encode(ours, [text])[0].tolist()
