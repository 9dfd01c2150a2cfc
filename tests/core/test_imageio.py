from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from seggui.core import imageio
from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError, read_header, read_image, read_mask, write_mask

CLASSES4 = ClassSet.default(4)


def _save(path, arr, mode=None, **kw):
    im = Image.fromarray(arr) if mode is None else Image.fromarray(arr).convert(mode)
    im.save(path, **kw)
    return path


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L", "P", "CMYK"])
def test_read_image_modes_give_rgb_float(tmp_path, mode):
    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    path = _save(tmp_path / f"x.{fmt.lower()}", rgb, mode, format=fmt)
    img = read_image(path)
    assert img.shape == (20, 30, 3) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0


def test_rgba_drops_alpha_and_keeps_values(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 10
    img = read_image(_save(tmp_path / "a.png", rgba))
    assert np.allclose(img[..., 0], 1.0) and np.allclose(img[..., 1:], 0.0)


def test_sixteen_bit_keeps_range(tmp_path):
    arr = np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(arr).save(path)
    img = read_image(path)
    assert img[0, 1, 0] == pytest.approx(1.0) and img[1, 0, 0] == pytest.approx(0.5, abs=1e-3)


def test_tiff_and_jpeg(tmp_path):
    rgb = np.full((10, 12, 3), 128, np.uint8)
    for name in ("t.tif", "t.jpg"):
        Image.fromarray(rgb).save(tmp_path / name)
        assert read_image(tmp_path / name).shape == (10, 12, 3)


def test_palette_mask_roundtrip_keeps_indices_and_palette(tmp_path):
    mask = np.random.default_rng(1).integers(0, 4, (16, 16), dtype=np.uint8)
    path = tmp_path / "m.png"
    write_mask(path, mask, CLASSES4)
    with Image.open(path) as im:
        assert im.mode == "P"
        assert im.getpalette()[:12] == [v for c in CLASSES4 for v in c.color]
    assert np.array_equal(read_mask(path, CLASSES4), mask)
    assert not list(tmp_path.glob(".tmp-*"))


def test_l_masks_indices_and_binary(tmp_path):
    mask = np.array([[0, 1], [2, 3]], np.uint8)
    assert np.array_equal(read_mask(_save(tmp_path / "l.png", mask), CLASSES4), mask)
    binary = np.array([[0, 255], [255, 0]], np.uint8)
    got = read_mask(_save(tmp_path / "b.png", binary), ClassSet.default(2))
    assert np.array_equal(got, binary // 255)


def test_colour_mask_maps_through_palette(tmp_path):
    mask = np.array([[0, 1], [2, 3]], np.uint8)
    rgb = CLASSES4.colors[mask]
    assert np.array_equal(read_mask(_save(tmp_path / "c.png", rgb), CLASSES4), mask)


def test_colour_not_in_palette_is_reported(tmp_path):
    rgb = np.full((3, 3, 3), 7, np.uint8)
    with pytest.raises(SlideFileError, match="not among the class colours"):
        read_mask(_save(tmp_path / "c.png", rgb), CLASSES4)


def test_values_outside_classes_are_reported(tmp_path):
    with pytest.raises(SlideFileError, match=r"outside the 4 classes"):
        read_mask(_save(tmp_path / "m.png", np.full((3, 3), 9, np.uint8)), CLASSES4)


def test_broken_files_give_reasons(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "text.png"
    text.write_text("hello, not an image")
    good = _save(tmp_path / "good.png", np.zeros((64, 64, 3), np.uint8))
    trunc = tmp_path / "trunc.png"
    trunc.write_bytes(good.read_bytes()[:60])
    with pytest.raises(SlideFileError, match="empty"):
        read_image(empty)
    with pytest.raises(SlideFileError, match="not an image"):
        read_image(text)
    with pytest.raises(SlideFileError) as info:
        read_image(trunc)
    assert info.value.path == trunc


def test_decompression_bomb_refused_from_header(tmp_path, monkeypatch):
    path = _save(tmp_path / "big.png", np.zeros((100, 100), np.uint8))
    monkeypatch.setattr(imageio, "MAX_PIXELS", 5000)
    with pytest.raises(SlideFileError, match="megapixel limit"):
        read_header(path)


def test_header_does_not_decode(tmp_path, monkeypatch):
    path = _save(tmp_path / "x.png", np.zeros((50, 70, 3), np.uint8))

    def boom(self):
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(Image.Image, "load", boom)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", boom)
    h = read_header(path)
    assert (h.width, h.height) == (70, 50)


def _tile(h=37, w=53, channels=3):
    rng = np.random.default_rng(1)
    smooth = np.cumsum(rng.integers(-4, 5, (h, w, channels)), axis=1)  # compresses like tissue
    return np.clip(128 + smooth, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "kind",
    ["png-rgb", "png-rgba", "png-rgb-trns", "png-level1", "jpeg", "jpeg-444"],
)
def test_common_tiles_decode_to_pillows_pixels(tmp_path, kind, monkeypatch):
    """The imagecodecs path gives exactly the pixels Pillow gives, and is the one taken."""
    rgba = kind == "png-rgba"
    arr = _tile(channels=4 if rgba else 3)
    path = tmp_path / ("x.jpg" if kind.startswith("jpeg") else "x.png")
    options = {
        "png-rgb-trns": {"transparency": (1, 2, 3)},
        "png-level1": {"compress_level": 1},
        "jpeg": {"quality": 80},
        "jpeg-444": {"quality": 95, "subsampling": 0},
    }.get(kind, {})
    Image.fromarray(arr).save(path, **options)
    with Image.open(path) as im:
        expected = imageio.pillow_pixels(im, path)
    taken = []
    real = imageio._decode_fast
    monkeypatch.setattr(imageio, "_decode_fast", lambda im, p: taken.append(1) or real(im, p))
    got = read_image(path)
    with Image.open(path) as im:
        assert taken and real(im, path) is not None
    assert got.dtype == np.float32 and np.array_equal(got, expected)


def _adam7_png(rgb: np.ndarray) -> bytes:
    """An interlaced (Adam7) RGB PNG: neither Pillow nor imagecodecs writes one."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    h, w = rgb.shape[:2]
    rows = []
    for x0, y0, dx, dy in (
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ):
        sub = rgb[y0::dy, x0::dx]
        rows += [b"\0" + row.tobytes() for row in sub if sub.shape[1]]
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def test_adam7_png_decodes_to_pillows_pixels(tmp_path):
    arr = _tile()
    path = tmp_path / "adam7.png"
    path.write_bytes(_adam7_png(arr))
    with Image.open(path) as im:
        assert im.info.get("interlace") == 1
        assert imageio._decode_fast(im, path) is not None
        assert np.array_equal(imageio.pillow_pixels(im, path), arr / np.float32(255))
    assert np.array_equal(read_image(path), arr / np.float32(255))


@pytest.mark.parametrize("mode", ["L", "LA", "P", "I;16"])
def test_other_pngs_go_through_pillow(tmp_path, mode):
    arr = _tile(channels=1)[..., 0]
    im = (
        Image.fromarray(arr).convert(mode)
        if mode != "I;16"
        else Image.fromarray(arr.astype(np.uint16) * 257)
    )
    path = tmp_path / "x.png"
    im.save(path)
    with Image.open(path) as opened:
        assert imageio._decode_fast(opened, path) is None
        expected = imageio.pillow_pixels(opened, path)
    assert np.array_equal(read_image(path), expected)


def test_damaged_common_tiles_keep_pillows_reason(tmp_path):
    """A cut PNG or JPEG fails the fast decoder, and the user still reads Pillow's reason."""
    for name in ("cut.png", "cut.jpg"):
        good = tmp_path / f"good-{name}"
        Image.fromarray(_tile(200, 200)).save(good)
        cut = tmp_path / name
        cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
        with pytest.raises(SlideFileError, match="truncated or damaged") as info:
            read_image(cut)
        assert info.value.path == cut


@pytest.mark.parametrize("suffix", ["png", "jpg"])
def test_garbled_common_tiles_fail_where_pillow_fails(tmp_path, suffix):
    """Bytes overwritten inside the data: read_image refuses exactly what Pillow refuses."""
    good = tmp_path / f"good.{suffix}"
    Image.fromarray(_tile(200, 200)).save(good)
    rng = np.random.default_rng(5)
    for i, where in enumerate((0.3, 0.5, 0.7, 0.9)):
        data = bytearray(good.read_bytes())
        at = int(len(data) * where)
        data[at : at + 40] = rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
        path = tmp_path / f"garbled{i}.{suffix}"
        path.write_bytes(bytes(data))
        try:
            with Image.open(path) as im:
                expected = imageio.pillow_pixels(im, path)
        except SlideFileError:
            with pytest.raises(SlideFileError):
                read_image(path)
        else:
            assert np.array_equal(read_image(path), expected)
