"""OCR overhead: the pipeline's OCR step vs the raw `tesseract` command, same image, same run.

For N generated ticket photos: normalize each (not timed), then time
  * pipeline: `pipeline.ocr.ocr_page` on the normalized PDF (page image taken from the PDF,
    one tesseract run for the word table and the searchable text layer, parsing);
  * raw: `tesseract IMAGE stdout -l spa+eng --dpi D` on the very image inside that PDF.
Both run with OMP_THREAD_LIMIT=1, alternately, best of R repeats. Prints per-page times and
the ratio of the totals (goal <= 1.10).

    .venv/bin/python -m bench.ocr_overhead [N] [R]     (from the repository root)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from pypdf import PdfReader

from pipeline.normalize import normalize_upload
from pipeline.ocr import ocr_page
from tests.documents import make_ticket, ticket_photo_bytes


def embedded_image(pdf: Path, folder: Path) -> tuple[Path, int]:
    """The page image exactly as stored in the PDF, and its DPI."""
    page = PdfReader(pdf).pages[0]
    xobject = next(iter(page["/Resources"]["/XObject"].values())).get_object()
    path = folder / "page.jpg"
    path.write_bytes(xobject.get_data())
    return path, round(int(xobject["/Width"]) / (float(page.mediabox.width) / 72))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    total_pipeline = total_raw = 0.0
    print(f"{'seed':>4} {'pipeline s':>10} {'raw s':>8} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for seed in range(1, count + 1):
            source = folder / f"photo-{seed}.jpg"
            source.write_bytes(ticket_photo_bytes(make_ticket(seed)))
            pdf = folder / f"normalized-{seed}.pdf"
            normalize_upload(source, pdf)
            image, dpi = embedded_image(pdf, folder)
            pipeline_best = raw_best = float("inf")
            for _ in range(repeats):
                started = time.perf_counter()
                ocr_page(pdf, 0, layer_pdf=folder / "layer.pdf")
                pipeline_best = min(pipeline_best, time.perf_counter() - started)
                started = time.perf_counter()
                subprocess.run(
                    ["tesseract", str(image), "stdout", "-l", "spa+eng", "--dpi", str(dpi)],
                    check=True, capture_output=True,
                )
                raw_best = min(raw_best, time.perf_counter() - started)
            total_pipeline += pipeline_best
            total_raw += raw_best
            ratio = pipeline_best / raw_best
            print(f"{seed:>4} {pipeline_best:>10.3f} {raw_best:>8.3f} {ratio:>6.2f}")
    print(f"total pipeline {total_pipeline:.2f} s, raw tesseract {total_raw:.2f} s, "
          f"ratio {total_pipeline / total_raw:.3f} (goal <= 1.10)")


if __name__ == "__main__":
    main()
