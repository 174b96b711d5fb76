"""Text of a scanned page, read from its images by OCR: RapidOCR's PP-OCRv4 models on
onnxruntime's CPU build, inside the rapidocr-onnxruntime wheel (nothing is downloaded; the
OpenCV it pulls in loads the system's libGL and GLib). Only pages without extractable text
come here."""

import threading
from functools import lru_cache
from typing import Any

import numpy as np

MIN_IMAGE_PIXELS = 64 * 64  # logos and rules are not scanned text

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]

    return RapidOCR()


def page_ocr(page: Any) -> tuple[str, float] | None:
    """(text, mean confidence weighted by characters) of a page's images, or None when
    they hold no recognisable text."""
    lines: list[tuple[float, float, str, float]] = []  # (top, left, text, confidence)
    offset = 0.0
    try:
        images = list(page.images)
    except Exception:  # an image pypdf cannot decode is as good as no image
        return None
    for image in images:
        try:
            picture = image.image
        except Exception:  # an image pypdf cannot decode holds no text we can read  # noqa: S112
            continue
        if picture is None or picture.width * picture.height < MIN_IMAGE_PIXELS:
            continue
        with _lock:  # one recognition at a time: onnxruntime already uses every core
            result, _ = _engine()(np.asarray(picture.convert("RGB")))
        for box, text, confidence in result or []:
            top = min(point[1] for point in box) + offset
            left = min(point[0] for point in box)
            lines.append((top, left, str(text), float(confidence)))
        offset += picture.height
    if not lines:
        return None
    return _reading_order(lines), _confidence(lines)


def _reading_order(lines: list[tuple[float, float, str, float]]) -> str:
    """Boxes -> lines of text, top to bottom; boxes at about the same height form one line."""
    lines.sort()
    rows: list[list[tuple[float, float, str, float]]] = []
    for line in lines:
        if rows and abs(rows[-1][0][0] - line[0]) < 8:
            rows[-1].append(line)
        else:
            rows.append([line])
    return "\n".join(
        " ".join(text for _, _, text, _ in sorted(row, key=lambda b: b[1])) for row in rows
    )


def _confidence(lines: list[tuple[float, float, str, float]]) -> float:
    weights = sum(len(text) for _, _, text, _ in lines) or 1
    return round(sum(len(text) * score for _, _, text, score in lines) / weights, 3)
