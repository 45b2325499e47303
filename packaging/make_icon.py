"""Draw the application icon into packaging/RiskManager.ico (Windows) and RiskManager.png (Linux).

    python packaging/make_icon.py [--out DIR]

The picture is the tray's "protected" state (the green shield with a tick from gui/icons.py, the
code that draws resources/icons/), so the exe, the installer, the Start menu and the tray agree.
Re-run after changing gui/icons.py and commit both files. Runs without a display.

The .ico is written here rather than by Qt's ICO plugin because that writes a single image; an
exe icon needs several sizes. Sizes up to 64 px are stored as 32-bit DIBs (what every Windows
tool reads), 128 and 256 px as PNG (the form Windows expects for large icon images).
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
PNG_FROM = 128  # this size and larger go in as PNG
PNG_SIZE = 256  # the Linux icon (hicolor/256x256)


def dib(width: int, height: int, bgra_top_down: bytes) -> bytes:
    """An ICO image entry in DIB form: header, bottom-up BGRA rows, then the 1-bit AND mask."""
    header = struct.pack("<IiiHHIIiiII", 40, width, height * 2, 1, 32, 0, 0, 0, 0, 0, 0)
    row = width * 4
    pixels = b"".join(bgra_top_down[y * row:(y + 1) * row] for y in reversed(range(height)))
    # The alpha channel carries transparency; the mask is all zeros, each row padded to 32 bits.
    mask = bytes(((width + 31) // 32) * 4 * height)
    return header + pixels + mask


def ico(images: list[tuple[int, bytes]]) -> bytes:
    """An .ico file from (size, entry bytes) pairs, entries already in DIB or PNG form."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    directory, blobs = b"", b""
    for size, data in images:
        side = 0 if size >= 256 else size  # 0 means 256 in the directory
        directory += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    return header + directory + blobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "packaging", help="target folder")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before the first Qt import
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))

    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QGuiApplication, QImage

    from gui.icons import TrayState, draw_icon

    app = QGuiApplication.instance() or QGuiApplication([])

    def png(image: QImage) -> bytes:
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        return bytes(data.data())

    entries = []
    for size in ICO_SIZES:
        image = draw_icon(TrayState.PROTECTED, demo=False, size=size)
        if size >= PNG_FROM:
            entries.append((size, png(image)))
        else:
            # Non-premultiplied ARGB32 is BGRA in memory on little-endian machines (all of ours).
            argb = image.convertToFormat(QImage.Format.Format_ARGB32)
            stride = argb.bytesPerLine()
            raw = bytes(argb.constBits())
            rows = b"".join(raw[y * stride:y * stride + size * 4] for y in range(size))
            entries.append((size, dib(size, size, rows)))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "RiskManager.ico").write_bytes(ico(entries))
    (args.out / "RiskManager.png").write_bytes(
        png(draw_icon(TrayState.PROTECTED, demo=False, size=PNG_SIZE)))
    for name in ("RiskManager.ico", "RiskManager.png"):
        path = args.out / name
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
