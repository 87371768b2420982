"""The independent face detector for the face tests: scikit-image's LBP
cascade (OpenCV's frontal-face model, shipped inside scikit-image) on an
image file, its faces printed as JSON [[x, y, w, h], ...], largest first.
Also prints where scikit-image keeps its sample photographs.

    python faces_reference.py IMAGE
    python faces_reference.py --photos
"""

import json
import sys

from skimage import data, feature, io
from skimage.color import rgba2rgb


def faces(path):
    image = io.imread(path)
    if image.ndim == 3 and image.shape[2] == 4:
        image = rgba2rgb(image)
    detector = feature.Cascade(data.lbp_frontal_face_cascade_filename())
    side = min(image.shape[0], image.shape[1])
    # A thumbnail is searched more finely: its one face is most of it,
    # and the coarse scan's scales can step over it.
    small = side <= 200
    found = detector.detect_multi_scale(
        img=image,
        scale_factor=1.1 if small else 1.2,
        step_ratio=1,
        min_size=(30 if small else max(24, side // 20),) * 2,
        max_size=(side, side),
    )
    boxes = [[d["c"], d["r"], d["width"], d["height"]] for d in found]
    return sorted(boxes, key=lambda b: -b[2] * b[3])


if __name__ == "__main__":
    if sys.argv[1] == "--photos":
        print(data.data_dir)
    else:
        print(json.dumps(faces(sys.argv[1])))
