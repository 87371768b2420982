"""The independent reference for the conformance tests: Pillow doing, step
by step, what a Cloudinary transformation means, so that avenue-media's
pixels are checked against another implementation and not against
themselves (tests/src/reference.rs).

    python pixel_reference.py IN OUT '[["crop", x, y, w, h], ...]'

Operations: crop x y w h; resize w h (Lanczos); pad W H x y [r,g,b,a];
pad_border W H x y (padding the average colour of the image's outer
rows and columns, Cloudinary's b_auto);
pad_gradient W H x y {"border": bool, "contrast": bool, "stops": 2|4,
"direction": "horizontal"|"vertical"|"diagonal_desc"|"diagonal_asc",
"palette": [[r,g,b,a], ...]} (b_auto:…_gradient: the most frequent
colours of the border or of the whole image, most frequent first, each
inverted for contrast, then replaced by the nearest palette colour, faded
linearly across the whole canvas along the direction);
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
    if name == "pad_gradient":
        width, height, x, y, spec = args
        canvas = gradient_canvas(width, height, gradient_colours(image, spec), spec["direction"])
        canvas.paste(image, (x, y), image)
        return canvas
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


def gradient_colours(image, spec):
    """The gradient's colours, counted exactly with Pillow's own getcolors."""
    rgb = image.convert("RGB")
    if spec["border"]:
        w, h = rgb.size
        strip = Image.new("RGB", (2 * w + 2 * h, 1))
        edge = [(x, 0) for x in range(w)] + [(x, h - 1) for x in range(w)]
        edge += [(0, y) for y in range(h)] + [(w - 1, y) for y in range(h)]
        strip.putdata([rgb.getpixel(point) for point in edge])
        rgb = strip
    counts = rgb.getcolors(maxcolors=rgb.width * rgb.height)
    ranked = [colour for _, colour in sorted(counts, key=lambda c: (-c[0], c[1]))]
    chosen = ranked[: spec["stops"]]
    chosen += [chosen[-1]] * (spec["stops"] - len(chosen))
    result = []
    for r, g, b in chosen:
        colour = (255 - r, 255 - g, 255 - b) if spec["contrast"] else (r, g, b)
        if spec["palette"]:
            colour = min(
                spec["palette"],
                key=lambda p: sum((p[i] - colour[i]) ** 2 for i in range(3)),
            )[:3]
        result.append(tuple(colour) + (255,))
    return result


def gradient_canvas(width, height, colours, direction):
    canvas = Image.new("RGBA", (width, height))
    pixels = canvas.load()
    spans = len(colours) - 1
    for y in range(height):
        down = y / (height - 1) if height > 1 else 0.0
        for x in range(width):
            across = x / (width - 1) if width > 1 else 0.0
            t = {
                "horizontal": across,
                "vertical": down,
                "diagonal_desc": (across + down) / 2,
                "diagonal_asc": (across + 1 - down) / 2,
            }[direction]
            at = t * spans
            i = min(int(at), spans - 1)
            part = at - i
            a, b = colours[i], colours[i + 1]
            pixels[x, y] = tuple(round(a[c] + (b[c] - a[c]) * part) for c in range(4))
    return canvas


def main():
    source, target, ops = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    image = Image.open(source).convert("RGBA")
    for op in ops:
        image = apply(image, op)
    image.save(target, "PNG")


if __name__ == "__main__":
    main()
