"""The independent reference for the conformance tests: Pillow doing, step
by step, what a Cloudinary transformation means, so that avenue-media's
pixels are checked against another implementation and not against
themselves (tests/src/reference.rs).

    python pixel_reference.py IN OUT '[["crop", x, y, w, h], ...]'

Operations: crop x y w h; resize w h (Lanczos); pad W H x y [r,g,b,a];
pad_border W H x y (padding the average colour of the image's outer
rows and columns, Cloudinary's b_auto);
rotate degrees_clockwise [r,g,b,a] (canvas grown to fit, bilinear);
fliph; flipv. OUT is written as PNG, RGBA.
"""

import json
import sys

from PIL import Image, ImageOps


def apply(image, op):
    name, *args = op
    if name == "crop":
        x, y, w, h = args
        return image.crop((x, y, x + w, y + h))
    if name == "resize":
        w, h = args
        return image.resize((w, h), Image.Resampling.LANCZOS)
    if name == "pad":
        width, height, x, y, colour = args
        canvas = Image.new("RGBA", (width, height), tuple(colour))
        canvas.paste(image, (x, y), image)
        return canvas
    if name == "pad_border":
        width, height, x, y = args
        return apply(image, ["pad", width, height, x, y, border_colour(image)])
    if name == "rotate":
        degrees, colour = args
        return image.rotate(
            -degrees, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=tuple(colour)
        )
    if name == "fliph":
        return ImageOps.mirror(image)
    if name == "flipv":
        return ImageOps.flip(image)
    raise SystemExit(f"unknown operation {name}")


def border_colour(image):
    w, h = image.size
    rgb = image.convert("RGB")
    edge = [(x, 0) for x in range(w)] + [(x, h - 1) for x in range(w)]
    edge += [(0, y) for y in range(h)] + [(w - 1, y) for y in range(h)]
    sums = [0, 0, 0]
    for point in edge:
        for c, v in enumerate(rgb.getpixel(point)):
            sums[c] += v
    return [s // len(edge) for s in sums] + [255]


def main():
    source, target, ops = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    image = Image.open(source).convert("RGBA")
    for op in ops:
        image = apply(image, op)
    image.save(target, "PNG")


if __name__ == "__main__":
    main()
