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
effect NAME VALUE [r,g,b,a]|null (e_NAME:VALUE with co_, each restated
from the README's formula with Pillow's own filters where it has one;
for tint the colour is a list, for improve the mode);
region blur|pixelate VALUE [x,y,w,h] (e_blur_region, e_pixelate_region);
trim TOLERANCE [r,g,b,a]|null (e_trim: cut to the box of pixels farther
than TOLERANCE% of 255 in any channel from the colour or the top-left
pixel);
round [tl,tr,br,bl]|"max" [r,g,b,a]|null (r_, corners drawn at 4x and
averaged down); border WIDTH [r,g,b,a] [tl,tr,br,bl]|"max"|null (bo_);
opacity PERCENT (o_);
shadow STRENGTH DX DY [r,g,b,a] (e_shadow: the alpha in the colour, a
Gaussian of STRENGTH/10 pixels, moved, the image over it on a grown canvas);
rotate degrees_clockwise [r,g,b,a] (canvas grown to fit, bilinear);
fliph; flipv;
layer FILE [ops…] {"gravity", "x", "y", "blend", "under", "tiled",
"no_overflow"} (l_/u_ … fl_layer_apply: FILE after its own ops, placed
as Cloudinary's layer placement table says: x and y point away from an
east or south edge, else right and down, a fraction is of the image;
the canvas grows to hold the layer unless no_overflow or tiled; blends
are Pillow's ImageChops with the image first);
text FONT_FILE SIZE TEXT [r,g,b,a] [r,g,b,a]|null {placement as layer}
(l_text: FreeType through Pillow sets TEXT in a box as wide as its
advance and as tall as the face's ascent and descent, on the background
or transparent, then lays it as `layer` does). OUT is written as PNG,
RGBA.
"""

import json
import math
import sys

from PIL import (
    Image,
    ImageChops,
    ImageDraw,
    ImageEnhance,
    ImageFilter,
    ImageFont,
    ImageOps,
    ImageStat,
)


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
    if name == "effect":
        effect_name, value, colour = args
        alpha = image.getchannel("A")
        if effect_name == "blur":
            return image.filter(ImageFilter.GaussianBlur(value / 20))
        out = effect(image.convert("RGB"), effect_name, value, colour)
        out.putalpha(alpha)
        return out
    if name == "trim":
        tolerance, colour = args
        reference = tuple(colour) if colour else image.getpixel((0, 0))
        limit = tolerance * 255 // 100
        plain = Image.new("RGBA", image.size, reference)
        far = ImageChops.difference(image, plain).point(lambda v: 255 if v > limit else 0)
        box = far.getbbox(alpha_only=False)
        return image.crop(box) if box else image
    if name == "region":
        kind, value, (x, y, w, h) = args
        part = image.crop((x, y, x + w, y + h))
        if kind == "blur":
            part = part.filter(ImageFilter.GaussianBlur(value / 20))
        else:
            part = apply(part, ["effect", "pixelate", value, None])
        out = image.copy()
        out.paste(part, (x, y))
        return out
    if name == "round":
        corners, fill = args
        cut = image.copy()
        cut.putalpha(multiply(image.getchannel("A"), shape_mask(image.size, corners, 0)))
        if fill is None:
            return cut
        canvas = Image.new("RGBA", image.size, tuple(fill))
        return Image.alpha_composite(canvas, cut)
    if name == "border":
        width, colour, corners = args
        w, h = image.size
        size = (w + 2 * width, h + 2 * width)
        band = Image.new("RGBA", size, tuple(colour))
        if corners is not None:
            band.putalpha(shape_mask(size, corners, width))
        layer = Image.new("RGBA", size, (0, 0, 0, 0))
        layer.paste(image, (width, width))
        return Image.alpha_composite(band, layer)
    if name == "shadow":
        # The shape (alpha) in the colour, blurred by a Gaussian of
        # strength/10 pixels, moved by (dx, dy); the image over it.
        strength, dx, dy, colour = args
        w, h = image.size
        canvas = (w + abs(dx), h + abs(dy))
        mask = Image.new("L", canvas, 0)
        mask.paste(image.getchannel("A").point(lambda a: round(a * colour[3] / 255)),
                   (max(dx, 0), max(dy, 0)))
        if strength:
            mask = mask.filter(ImageFilter.GaussianBlur(strength / 10))
        cast = Image.new("RGBA", canvas, tuple(colour[:3]) + (0,))
        cast.putalpha(mask)
        layer = Image.new("RGBA", canvas, (0, 0, 0, 0))
        layer.paste(image, (max(-dx, 0), max(-dy, 0)))
        return Image.alpha_composite(cast, layer)
    if name == "opacity":
        (percent,) = args
        out = image.copy()
        out.putalpha(image.getchannel("A").point(lambda a: round(a * percent / 100)))
        return out
    if name == "rotate":
        degrees, colour = args
        return image.rotate(
            -degrees, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=tuple(colour)
        )
    if name == "layer":
        path, ops, spec = args
        layer = Image.open(path).convert("RGBA")
        for inner in ops:
            layer = apply(layer, inner)
        return lay(image, layer, spec)
    if name == "text":
        path, size, text, colour, background, spec = args
        font = ImageFont.truetype(path, size)
        ascent, descent = font.getmetrics()
        box = (max(1, math.ceil(font.getlength(text))), ascent + descent)
        coverage = Image.new("L", box, 0)
        ImageDraw.Draw(coverage).text((0, 0), text, font=font, fill=255, anchor="la")
        ink = Image.new("RGBA", box, tuple(colour))
        ink.putalpha(ImageChops.multiply(coverage, Image.new("L", box, colour[3])))
        ground = Image.new("RGBA", box, tuple(background) if background else (0, 0, 0, 0))
        return lay(image, Image.alpha_composite(ground, ink), spec)
    if name == "fliph":
        return ImageOps.mirror(image)
    if name == "flipv":
        return ImageOps.flip(image)
    raise SystemExit(f"unknown operation {name}")


def offset(value, whole):
    return round(value * whole) if isinstance(value, float) else value


def along(gravity, near, far, base, size, shift):
    """Where a layer starts on one axis: at the near edge, against the far
    one (the shift then pointing inward), or centred."""
    if near in gravity:
        return shift
    if far in gravity:
        return base - size - shift
    return (base - size) // 2 + shift


def lay(image, layer, spec):
    gravity = spec.get("gravity", "center")
    (bw, bh), (lw, lh) = image.size, layer.size
    left = along(gravity, "west", "east", bw, lw, offset(spec.get("x", 0), bw))
    top = along(gravity, "north", "south", bh, lh, offset(spec.get("y", 0), bh))
    kept = spec.get("no_overflow") or spec.get("tiled")
    shift_x, shift_y = (0, 0) if kept else (max(0, -left), max(0, -top))
    size = (bw, bh) if kept else (
        max(bw, left + lw) + shift_x,
        max(bh, top + lh) + shift_y,
    )
    base = Image.new("RGBA", size, (0, 0, 0, 0))
    base.paste(image, (shift_x, shift_y))
    laid = Image.new("RGBA", size, (0, 0, 0, 0))
    if spec.get("tiled"):
        start_x, start_y = left % lw - lw, top % lh - lh
        for ty in range(start_y, size[1], lh):
            for tx in range(start_x, size[0], lw):
                laid.paste(layer, (tx, ty))
    else:
        laid.paste(layer, (left + shift_x, top + shift_y))
    if spec.get("under"):
        return Image.alpha_composite(laid, base)
    blend = spec.get("blend")
    alpha = laid.getchannel("A")
    if blend in ("mask", "cut_out"):
        keep = alpha if blend == "mask" else ImageChops.invert(alpha)
        out = base.copy()
        out.putalpha(ImageChops.multiply(base.getchannel("A"), keep))
        return out
    if blend is None:
        return Image.alpha_composite(base, laid)
    mix = {"multiply": ImageChops.multiply, "screen": ImageChops.screen,
           "overlay": ImageChops.overlay}[blend]
    colours = mix(base.convert("RGB"), laid.convert("RGB")).convert("RGBA")
    colours.putalpha(alpha)
    return Image.alpha_composite(base, colours)


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


def effect(rgb, name, value, colour):
    factor = (100 + value) / 100 if isinstance(value, int) else None
    if name == "grayscale":
        return ImageOps.grayscale(rgb).convert("RGB")
    if name == "blackwhite":
        cut = value * 255 / 100
        return ImageOps.grayscale(rgb).point(lambda v: 255 if v >= cut else 0).convert("RGB")
    if name == "negate":
        return ImageOps.invert(rgb)
    if name == "brightness":
        return ImageEnhance.Brightness(rgb).enhance(factor)
    if name == "contrast":
        return ImageEnhance.Contrast(rgb).enhance(factor)
    if name == "saturation":
        return ImageEnhance.Color(rgb).enhance(factor)
    if name == "gamma":
        g = 1 + value / 100
        return rgb.point(lambda v: round(255 * (v / 255) ** (1 / g)))
    if name == "colorize":
        return Image.blend(rgb, Image.new("RGB", rgb.size, tuple(colour[:3])), value / 100)
    if name == "sharpen":
        return rgb.filter(ImageFilter.UnsharpMask(radius=1, percent=value, threshold=0))
    if name == "unsharp_mask":
        return rgb.filter(ImageFilter.UnsharpMask(radius=2, percent=value, threshold=0))
    if name == "pixelate":
        out = rgb.copy()
        for top in range(0, rgb.height, value):
            for left in range(0, rgb.width, value):
                box = (left, top, min(left + value, rgb.width), min(top + value, rgb.height))
                mean = tuple(round(m) for m in ImageStat.Stat(rgb.crop(box)).mean)
                out.paste(mean, box)
        return out
    if name in ("auto_color", "auto_contrast", "auto_brightness", "improve"):
        return Image.blend(rgb, corrected(rgb, name, colour), value / 100)
    if name == "tint":
        stops = [tuple(c[:3]) for c in colour]
        if len(stops) == 1:
            stops.insert(0, (0, 0, 0))
        return toned(rgb, stops, value / 100)
    if name == "vignette":
        w, h = rgb.size
        out = rgb.copy()
        px = out.load()
        for y in range(h):
            for x in range(w):
                dx, dy = (x + 0.5 - w / 2) / (w / 2), (y + 0.5 - h / 2) / (h / 2)
                keep = 1 - value / 100 * (dx * dx + dy * dy) / 2
                px[x, y] = tuple(max(0, min(255, round(c * keep))) for c in px[x, y])
        return out
    pixels = [per_pixel(name, value, p) for p in rgb.getdata()]
    out = Image.new("RGB", rgb.size)
    out.putdata(pixels)
    return out


def corrected(rgb, name, mode):
    """Levels cut at 0.5% each end: per channel (auto_color), on the grey
    with one map for all channels (auto_contrast, Pillow's preserve_tone);
    auto_brightness scales so the mean grey is 128; improve is colour,
    contrast, then outdoors saturation 1.2."""
    if name == "auto_color":
        return ImageOps.autocontrast(rgb, cutoff=0.5)
    if name == "auto_contrast":
        return ImageOps.autocontrast(rgb, cutoff=0.5, preserve_tone=True)
    if name == "auto_brightness":
        greys = [(r * 299 + g * 587 + b * 114) / 1000 for r, g, b in rgb.getdata()]
        mean = sum(greys) / len(greys)
        gain = min(4.0, max(0.25, 128 / mean)) if mean > 0 else 4.0
        return rgb.point(lambda v: max(0, min(255, round(v * gain))))
    better = corrected(corrected(rgb, "auto_color", None), "auto_contrast", None)
    return ImageEnhance.Color(better).enhance(1.2) if mode == "outdoor" else better


def toned(rgb, stops, share):
    """Each pixel's grey mapped along evenly spaced colour stops."""
    out = []
    for pixel in rgb.getdata():
        t = (pixel[0] * 299 + pixel[1] * 587 + pixel[2] * 114) / 1000 / 255
        scaled = min(1.0, max(0.0, t)) * (len(stops) - 1)
        i = min(int(scaled), len(stops) - 2)
        within = scaled - i
        target = [a + (b - a) * within for a, b in zip(stops[i], stops[i + 1])]
        new = [max(0, min(255, round(c))) for c in target]
        out.append(tuple(round(o + (n - o) * share) for o, n in zip(pixel, new)))
    image = Image.new("RGB", rgb.size)
    image.putdata(out)
    return image


def per_pixel(name, value, pixel):
    r, g, b = pixel
    clamp = lambda v: max(0, min(255, round(v)))
    if name == "sepia":
        tone = (
            min(255, 0.393 * r + 0.769 * g + 0.189 * b),
            min(255, 0.349 * r + 0.686 * g + 0.168 * b),
            min(255, 0.272 * r + 0.534 * g + 0.131 * b),
        )
        return tuple(clamp(o + (t - o) * value / 100) for o, t in zip(pixel, tone))
    if name == "vibrance":
        grey = (r * 299 + g * 587 + b * 114) / 1000
        boost = 1 + value / 100 * (1 - (max(pixel) - min(pixel)) / 255)
        return tuple(clamp(grey + (c - grey) * boost) for c in pixel)
    raise SystemExit(f"unknown effect {name}")


def multiply(a, b):
    from PIL import ImageChops

    return ImageChops.multiply(a, b)


def shape_mask(size, corners, grow):
    """Coverage of the rounded shape: drawn at 4x, averaged down."""
    scale = 4
    w, h = size
    big = Image.new("L", (w * scale, h * scale), 0)
    draw = ImageDraw.Draw(big)
    if corners == "max":
        draw.ellipse((0, 0, w * scale - 1, h * scale - 1), fill=255)
    else:
        draw.rectangle((0, 0, w * scale - 1, h * scale - 1), fill=255)
        limit = (min(w, h) - 2 * grow) / 2
        boxes = [(0, 0), (1, 0), (1, 1), (0, 1)]
        for radius, (right, bottom) in zip(corners, boxes):
            r = min(radius, limit)
            if r <= 0:
                continue
            r = (r + grow) * scale
            x0 = w * scale - r if right else 0
            y0 = h * scale - r if bottom else 0
            draw.rectangle((x0, y0, x0 + r - 1, y0 + r - 1), fill=0)
            cx = w * scale - r if right else r
            cy = h * scale - r if bottom else r
            draw.ellipse((cx - r, cy - r, cx + r - 1, cy + r - 1), fill=255)
    return big.resize(size, Image.Resampling.BOX)


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
