"""Documents and videos for the page and frame tests, with the pictures
they hold: what a drawn page or a decoded frame must look like, painted
here, independently of the tools that draw and decode them.

  documents_reference.py pdf FOLDER '[[W, H, SEED], ...]'
      FOLDER/doc.pdf, one page per entry (W x H pixels at 150 dpi,
      embedded losslessly), and FOLDER/page-N.png, each page as painted.
  documents_reference.py video FOLDER W H SECONDS
      FOLDER/clip.mp4 (H.264, 10 frames a second), one painting per
      second, and FOLDER/second-N.png, each painting.

Each painting is a grid of large blocks in colours drawn from SEED, so
that a page or a second is told from every other by its pixels and survives
lossy coding.
"""

import json
import random
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

BLOCKS = 4


def painting(width, height, seed):
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for row in range(BLOCKS):
        for column in range(BLOCKS):
            colour = tuple(rng.randrange(30, 226) for _ in range(3))
            box = (
                column * width // BLOCKS,
                row * height // BLOCKS,
                (column + 1) * width // BLOCKS - 1,
                (row + 1) * height // BLOCKS - 1,
            )
            draw.rectangle(box, fill=colour)
    return image


def pdf(folder, pages):
    paintings = [painting(w, h, seed) for w, h, seed in pages]
    for number, image in enumerate(paintings, start=1):
        image.save(folder / f"page-{number}.png")
    # Pillow embeds RGB as JPEG but a palette image as it is: 16 colours
    # fit a palette exactly, so each page holds exactly its painting.
    exact = [image.convert("P", palette=Image.Palette.ADAPTIVE, colors=BLOCKS * BLOCKS)
             for image in paintings]
    exact[0].save(
        folder / "doc.pdf",
        save_all=True,
        append_images=exact[1:],
        resolution=150.0,
    )


def video(folder, width, height, seconds):
    for second in range(seconds):
        painting(width, height, 1000 + second).save(folder / f"second-{second}.png")
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y", "-framerate", "1",
            "-i", str(folder / "second-%d.png"),
            "-vf", "fps=10", "-c:v", "libx264", "-preset", "veryfast",
            "-crf", "12", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
            str(folder / "clip.mp4"),
        ],
        check=True,
    )


def main():
    kind, folder = sys.argv[1], Path(sys.argv[2])
    if kind == "pdf":
        pdf(folder, json.loads(sys.argv[3]))
    elif kind == "video":
        video(folder, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(f"unknown kind {kind}")


if __name__ == "__main__":
    main()
