"""The shipped datasets and the folder loader, on the real files."""

import numpy as np
import pytest
from PIL import Image

from iseg_course.data import ImageMaskFolder, load_dataset, load_image, load_mask, load_volume

EXPECTED = {"grabcut": 50, "berkeley": 100, "cats": 885, "coco_mval_cats": 10}


@pytest.mark.parametrize("name,count", EXPECTED.items())
def test_shipped_datasets_have_expected_counts(name, count):
    ds = load_dataset(name)
    assert len(ds) == count
    s = ds[0]
    assert s.image.dtype == np.uint8 and s.image.ndim == 3 and s.image.shape[2] == 3
    assert s.mask.dtype == bool and s.mask.shape == s.image.shape[:2]
    assert s.mask.any()


def test_grabcut_band_becomes_ignore_mask():
    ds = load_dataset("grabcut")
    s = ds["banana1"]
    raw = np.asarray(Image.open(ds._masks["banana1"]))
    assert s.ignore is not None
    assert np.array_equal(s.ignore, raw == 128)
    assert np.array_equal(s.mask, raw == 255)
    assert not (s.mask & s.ignore).any()
    # 8 GrabCut masks have no band at all
    assert ds["llama"].ignore is None


def test_oxford_trimap_border_becomes_ignore():
    s = load_dataset("cats")["ox_Abyssinian_1"]
    assert s.ignore is not None and s.ignore.any()
    assert s.mask.any()


def test_index_by_name_and_slice():
    ds = load_dataset("coco_mval_cats")
    assert ds[ds.names[3]].name == ds.names[3]
    assert [s.name for s in ds[1:3]] == ds.names[1:3]
    with pytest.raises(KeyError, match="no sample named"):
        ds["not-a-cat"]


def test_unknown_dataset():
    with pytest.raises(ValueError, match="expected one of"):
        load_dataset("imagenet")


def _pair(tmp_path, stem="a", size=(8, 6), mask_size=None, values=(0, 255)):
    (tmp_path / "img").mkdir(exist_ok=True)
    (tmp_path / "msk").mkdir(exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), 100, np.uint8)).save(tmp_path / "img" / f"{stem}.png")
    mw, mh = mask_size or size
    m = np.zeros((mh, mw), np.uint8)
    m[: mh // 2] = values[-1]
    m[0, 0] = values[0]
    Image.fromarray(m).save(tmp_path / "msk" / f"{stem}.png")


def test_folder_pair_loader(tmp_path):
    _pair(tmp_path, "x")
    ds = ImageMaskFolder(tmp_path / "img", tmp_path / "msk")
    assert len(ds) == 1 and ds[0].name == "x" and ds[0].mask.sum() == 8 * 3 - 1


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="images folder not found"):
        ImageMaskFolder(tmp_path / "nope", tmp_path)


def test_unmatched_stems_are_named(tmp_path):
    _pair(tmp_path, "a")
    _pair(tmp_path, "b")
    (tmp_path / "msk" / "b.png").rename(tmp_path / "msk" / "c.png")
    with pytest.raises(ValueError, match=r"images without a mask: \['b'\].*masks without an image: \['c'\]"):
        ImageMaskFolder(tmp_path / "img", tmp_path / "msk")


def test_size_mismatch_names_the_files(tmp_path):
    _pair(tmp_path, "a", size=(8, 6), mask_size=(8, 5))
    ds = ImageMaskFolder(tmp_path / "img", tmp_path / "msk")
    with pytest.raises(ValueError, match=r"size mismatch for 'a'.*8x6.*8x5"):
        ds[0]


def test_unreadable_file_is_named(tmp_path):
    _pair(tmp_path, "a")
    (tmp_path / "img" / "a.png").write_bytes(b"not a png")
    ds = ImageMaskFolder(tmp_path / "img", tmp_path / "msk")
    with pytest.raises(ValueError, match=r"cannot read image .*a\.png"):
        ds[0]


def test_non_binary_mask_values_rejected(tmp_path):
    _pair(tmp_path, "a", values=(0, 200))
    with pytest.raises(ValueError, match="holds values"):
        load_mask(tmp_path / "msk" / "a.png")


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        load_image("/nonexistent/cat.jpg")


def test_volume():
    v = load_volume("brain1")
    assert v["image"].shape == (25, 256, 256) and v["image"].dtype == np.int16
    assert v["label"].shape == v["image"].shape
    assert set(np.nonzero(v["label"].any(axis=(1, 2)))[0]) == set(range(11, 18))
    with pytest.raises(ValueError):
        load_volume("liver")
