"""Shipped datasets and a loader for any folder of image/mask pairs.

Masks are 8-bit PNGs: 0 = background, 255 = object, and 128 = "unknown" (GrabCut's boundary band, the
Oxford-IIIT Pet trimap border), which becomes the **ignore mask**: left out of metrics and click placement.
Provenance and licences of every shipped set are in ``data/README.md``.

Notebooks find data through this module (never through paths relative to the notebook), so graders can
run a submission from any folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

#: The course's own folder (a clone of the repository): holds ``data/``, ``lessons/``, ``solutions/``.
#: The one place that knows where the package sits; the CLI and the grading pipeline use it too.
REPO_ROOT = Path(__file__).resolve().parent.parent

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
IGNORE_VALUE = 128

#: The shipped image/mask datasets: name -> (images folder, masks folder), relative to the data root.
DATASETS = {
    "grabcut": ("grabcut/images", "grabcut/masks"),
    "berkeley": ("berkeley/images", "berkeley/masks"),
    "cats": ("cats/images", "cats/masks"),
    "coco_mval_cats": ("coco_mval_cats/images", "coco_mval_cats/masks"),
    "davis_bear": ("davis_bear/images", "davis_bear/masks"),
    "duts_small": ("duts_small/images", "duts_small/masks"),
}
VOLUMES = {"brain1": "medical/brain_tumour_mri/brain1.npz", "brain2": "medical/brain_tumour_mri/brain2.npz"}


def data_root() -> Path:
    """The folder holding the shipped data: ``$ISEG_DATA`` if set, else the repository's ``data/``.

    Raises FileNotFoundError if the folder does not exist.

    Used by iseg_course.cli and iseg_course.models (the shipped checkpoint).
    """
    root = Path(os.environ.get("ISEG_DATA", REPO_ROOT / "data"))
    if not root.is_dir():
        raise FileNotFoundError(
            f"data folder not found: {root}. Run from a clone of the course repository or set ISEG_DATA."
        )
    return root


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as ``(H, W, 3) uint8`` RGB (grey and RGBA images are converted).

    Raises FileNotFoundError if missing, ValueError if the file cannot be decoded.

    Used by :class:`ImageMaskFolder`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image {path}: {e}") from e


def load_mask(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a mask file as ``(mask, ignore)``: ``(H, W) bool`` object mask and ``(H, W) bool`` ignore mask.

    Values: 0 = background, 255 (or 1) = object, 128 = ignore. ``ignore`` is None when no pixel is 128.

    Raises FileNotFoundError if missing, ValueError if unreadable, not single-channel, or holding other values.

    Used by :class:`ImageMaskFolder`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mask file not found: {path}")
    try:
        with Image.open(path) as im:
            arr = np.asarray(im)
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read mask {path}: {e}") from e
    if arr.ndim != 2:
        raise ValueError(f"mask {path} has shape {arr.shape}; expected a single-channel (H, W) image")
    values = np.unique(arr)
    if not np.all(np.isin(values, (0, 1, IGNORE_VALUE, 255))):
        raise ValueError(
            f"mask {path} holds values {values[:10].tolist()}; expected 0 (background), 255 or 1 (object), "
            f"128 (ignore)"
        )
    ignore = arr == IGNORE_VALUE
    mask = (arr == 255) | (arr == 1)
    return mask, (ignore if ignore.any() else None)


@dataclass
class Sample:
    """One image with its ground truth.

    Attributes:
        name: the shared file stem.
        image: ``(H, W, 3) uint8`` RGB.
        mask: ``(H, W) bool`` object mask.
        ignore: ``(H, W) bool`` pixels left out of metrics, or None.

    Used in lessons 00, 01, 02, 03, 04, 05, 06, 07.
    """

    name: str
    image: np.ndarray
    mask: np.ndarray
    ignore: np.ndarray | None = None


def _stems(folder: Path, what: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"{what} folder not found: {folder}")
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
            if p.stem in out:
                raise ValueError(f"two {what} files share the stem {p.stem!r}: {out[p.stem].name} and {p.name}")
            out[p.stem] = p
    if not out:
        raise ValueError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in {what} folder {folder}")
    return out


class ImageMaskFolder(Sequence[Sample]):
    """Image/mask pairs from two folders, matched by file stem (``cat1.jpg`` <-> ``cat1.png``).

    Samples are read lazily; index by position or by name. Iteration order is sorted by name.

    Raises:
        FileNotFoundError: a folder is missing.
        ValueError: stems that do not match (the first few are named), or (on access) an image and mask of
            different sizes or an unreadable file, with the file named.

    Used in lessons 00, 01, 02, 03, 04, 05, 06, 07 (what ``load_dataset`` returns).
    """

    def __init__(self, images: str | os.PathLike, masks: str | os.PathLike, name: str | None = None):
        self.images_dir, self.masks_dir = Path(images), Path(masks)
        imgs = _stems(self.images_dir, "images")
        msks = _stems(self.masks_dir, "masks")
        only_img = sorted(set(imgs) - set(msks))
        only_msk = sorted(set(msks) - set(imgs))
        if only_img or only_msk:
            raise ValueError(
                f"image and mask stems do not match between {self.images_dir} and {self.masks_dir}: "
                f"images without a mask: {only_img[:5]}{' ...' if len(only_img) > 5 else ''}; "
                f"masks without an image: {only_msk[:5]}{' ...' if len(only_msk) > 5 else ''}"
            )
        self.names = sorted(imgs)
        self._images, self._masks = imgs, msks
        self.name = name or self.images_dir.parent.name

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, slice):
            return [self[i] for i in range(*key.indices(len(self)))]
        if isinstance(key, str):
            if key not in self._images:
                raise KeyError(f"no sample named {key!r} in {self.name}")
            name = key
        else:
            name = self.names[key]
        image = load_image(self._images[name])
        mask, ignore = load_mask(self._masks[name])
        if mask.shape != image.shape[:2]:
            raise ValueError(
                f"size mismatch for {name!r}: image {self._images[name]} is {image.shape[1]}x{image.shape[0]} "
                f"but mask {self._masks[name]} is {mask.shape[1]}x{mask.shape[0]} (width x height)"
            )
        return Sample(name, image, mask, ignore)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def subset(self, names: Sequence[str]) -> "ImageMaskFolder":
        """A view of these samples only (same folders, ``names`` in sorted order); KeyError names an unknown one.

        Used by iseg_course.models.sam.training (the cats a model may train on).
        """
        unknown = [n for n in names if n not in self._images]
        if unknown:
            raise KeyError(f"no samples named {unknown[:5]} in {self.name}")
        view = object.__new__(ImageMaskFolder)
        view.__dict__.update(self.__dict__)
        view.names = sorted(set(names))
        return view

    def image_path(self, name: str) -> Path:
        """The image file of sample ``name``; KeyError for an unknown name."""
        return self._images[name]

    def mask_path(self, name: str) -> Path:
        """The mask file of sample ``name``; KeyError for an unknown name."""
        return self._masks[name]

    def __repr__(self) -> str:
        return f"ImageMaskFolder({self.name!r}, {len(self)} samples)"


def boundary_crop(sample: Sample, size: int = 64, stride: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """A ``size`` x ``size`` crop that straddles the object boundary, for small teaching examples.

    Windows on a ``stride``-pixel grid are scanned in row-major order; the first one whose object fraction
    is closest to one half wins. Returns ``(image (size, size, 3) uint8, mask (size, size) bool)`` copies.

    Raises ValueError if the image is smaller than ``size`` in either direction.

    Used by benchmarks/graphcut.py.
    """
    h, w = sample.mask.shape
    if h < size or w < size:
        raise ValueError(f"image {sample.name!r} is {w}x{h}, smaller than the {size}x{size} crop")
    _, r, c = min(
        (abs(float(sample.mask[r : r + size, c : c + size].mean()) - 0.5), r, c)
        for r in range(0, h - size + 1, stride)
        for c in range(0, w - size + 1, stride)
    )
    return sample.image[r : r + size, c : c + size].copy(), sample.mask[r : r + size, c : c + size].copy()


def load_dataset(name: str) -> ImageMaskFolder:
    """One of the shipped datasets: ``grabcut`` (50), ``berkeley`` (100), ``cats`` (885), ``coco_mval_cats`` (10).

    Raises ValueError for an unknown name, FileNotFoundError if the data folder is missing.

    Used in lessons 00, 01, 02, 03, 04, 05, 06, 07.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    root = data_root()
    images, masks = DATASETS[name]
    return ImageMaskFolder(root / images, root / masks, name=name)


def load_volume(name: str) -> dict:
    """A shipped 3D volume: ``brain1`` or ``brain2`` (contrast-enhanced T1 MRI with tumour label).

    Returns a dict with ``image`` ``(Z, H, W) int16``, ``label`` ``(Z, H, W) uint8`` and
    ``spacing_zyx`` (mm). Raises ValueError for an unknown name.

    Used by tests/test_data.py only; no lesson uses it yet.
    """
    if name not in VOLUMES:
        raise ValueError(f"unknown volume {name!r}; expected one of {sorted(VOLUMES)}")
    with np.load(data_root() / VOLUMES[name]) as z:
        return {k: z[k] for k in z.files}


# ------------------------------------------------------------------------------------------------ the cat split
@dataclass
class CatSplit:
    """Names of the cats in ``data/cats`` used by lesson 07 (all lists sorted by the seeded draw).

    Attributes:
        train: the 90 training cats of the 100 labelled ones.
        test: the 10 test cats.
        other: 100 further cats (any source) for evaluation on unseen images.
        rest: every cat not in ``test`` (the "all labelled cats" training configuration).

    Used in lesson 07 (what ``cat_split`` returns).
    """

    train: list[str]
    test: list[str]
    other: list[str]
    rest: list[str]


def cat_split(n_labelled: int = 100, n_test: int = 10, n_other: int = 100, seed: int = 0) -> CatSplit:
    """Draw the lecture's "100 labelled cats, 90 train / 10 test" reproducibly from ``data/cats``.

    The Oxford-IIIT Pet cats (``ox_*``, with trimap ignore borders) come first, in a seeded random order;
    the first ``n_labelled`` are the labelled cats, the last ``n_test`` of those the test set. ``other``
    is a seeded draw of ``n_other`` cats from the remaining ones (Oxford, feral and Kaggle cats).

    Raises ValueError if the counts do not fit (``0 < n_test < n_labelled``, enough cats).

    Used in lesson 07.
    """
    names = load_dataset("cats").names
    if not (0 < n_test < n_labelled) or n_labelled + n_other > len(names):
        raise ValueError(f"expected 0 < n_test < n_labelled and n_labelled + n_other <= {len(names)}, "
                         f"got n_labelled={n_labelled}, n_test={n_test}, n_other={n_other}")
    rng = np.random.default_rng(seed)
    oxford = sorted(n for n in names if n.startswith("ox_"))
    others = sorted(n for n in names if not n.startswith("ox_"))
    ordered = [str(n) for n in rng.permutation(oxford)] + [str(n) for n in rng.permutation(others)]
    labelled = ordered[:n_labelled]
    remaining = ordered[n_labelled:]
    other = [remaining[i] for i in rng.permutation(len(remaining))[:n_other]]
    test = labelled[-n_test:]
    return CatSplit(train=labelled[:-n_test], test=test, other=other,
                    rest=[n for n in ordered if n not in set(test)])


def load_samples(names: Sequence[str], dataset: str = "cats") -> list[Sample]:
    """The samples of ``dataset`` with these names, in this order (KeyError names a missing one).

    Used in lesson 07.
    """
    ds = load_dataset(dataset)
    return [ds[n] for n in names]


# ------------------------------------------------------------------------------------------------ writing
def write_new_file(path: str | os.PathLike, data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path``, refusing (atomically) to replace an existing file unless ``overwrite``.

    Nothing a student saved is lost by a second run of the same cell. Returns the path.

    Raises:
        FileExistsError: the file exists and ``overwrite`` is False.
        FileNotFoundError: the folder does not exist.
        IsADirectoryError: ``path`` is a folder.

    Used by iseg_course.session (``export_log``) and :func:`save_mask`.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder does not exist: {path.parent}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; expected a file path")
    try:
        with open(path, "wb" if overwrite else "xb") as f:  # "x": refuse atomically if it exists
            f.write(data)
    except FileExistsError:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it") from None
    return path


def save_mask(mask: np.ndarray, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Save an ``(H, W)`` bool mask as an 8-bit PNG (0 = background, 255 = object), the format of the shipped
    masks (:func:`load_mask` reads it back). Returns the path.

    Raises:
        ValueError: ``path`` does not end in ``.png`` or the mask is not ``(H, W)``.
        FileExistsError / FileNotFoundError: see :func:`write_new_file`.

    Used by iseg_course.session (``export_mask``, so the widget's ``export_mask``).
    """
    import io

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"masks are saved as PNG; expected a path ending in .png, got {path}")
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected an (H, W) mask, got shape {mask.shape}")
    buf = io.BytesIO()
    Image.fromarray(mask.astype(bool).astype(np.uint8) * 255, mode="L").save(buf, format="PNG")
    return write_new_file(path, buf.getvalue(), overwrite)
