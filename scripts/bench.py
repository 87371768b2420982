#!/usr/bin/env python3
"""`make bench`: load benchmark of avenue-media's render, cache and upload
paths against real peers, measured in one run on this machine.

Starts its own MongoDB stand-in, avenue-media (release build), sharp/libvips
(one small Node server, operation cache off), thumbor (one process per
core, no result storage) and nginx, all on loopback, drives them with wrk,
and prints one table with ratios: cold renders per format (JPEG, WebP, AVIF,
f_auto with Chrome's and Safari's Accept), the Cloudinary jobs a shop
and a website builder use most (a blurred placeholder, a watermark, a round
avatar, a caption, a face thumbnail) against sharp doing each, cache hits against nginx, the
bytes and SSIM of what a warm f_auto answers, a 20 MB upload into GridFS
against pymongo writing the same bytes through its own GridFS bucket, and
avenue-media's peak RSS. The table also goes into the README between the
bench markers, with the date and the machine. Everything started is
stopped and removed at the end.
"""

import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_VENV = os.path.join(ROOT, ".venv-bench")
THUMBOR_VERSION = "7.8.0"
SHARP_VERSION = "0.35.5"
BENCH_NODE = os.path.join(ROOT, ".bench-node")
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI = ("image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,"
          "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5")
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
JOB = "c_fill,w_400,h_300,q_80"
# Issue 30's jobs, as (name, which original, transformation before the
# cold script's colour, after it, extension); sharp_server.js does each.
# A lone `q_80` first component carries the colour where `b_` beside
# `r_` or a crop would change the work.
JOBS = [
    ("placeholder", "photo", "c_scale,w_50,e_blur:2000,q_1", "", "jpg"),
    ("watermark", "photo", "c_fill,w_400,h_300,q_80", "/l_{logo},w_100/fl_layer_apply,g_south_east,x_10,y_10", "jpg"),
    ("avatar", "photo", "q_80", "/c_fill,w_300,h_300,r_max", "webp"),
    ("caption", "photo", "c_fill,w_400,h_300,q_80", "/co_white,l_text:Arial_40:Avenue/fl_layer_apply,g_south,y_20",
     "jpg"),
    ("face thumb", "face", "q_80", "/c_thumb,g_face,w_150,h_150", "jpg"),
]

procs = []


def log(msg):
    print(f"\033[1m==> {msg}\033[0m", file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def start(cmd, env=None, log_path=None):
    out = open(log_path, "w") if log_path else subprocess.DEVNULL
    p = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    procs.append(p)
    return p


def ensure_tools():
    missing = [pkg for tool, pkg in (("wrk", "wrk"), ("nginx", "nginx-light")) if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}")]
    if missing:
        if os.geteuid() != 0:
            raise SystemExit(f"install {' '.join(missing)} (apt-get install -y {' '.join(missing)})")
        log(f"installing {' '.join(missing)}")
        run(["apt-get", "install", "-y", "-qq", *missing], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    run(["bash", "-c", f"source '{ROOT}/scripts/common.sh' && ensure_venv"])
    if not os.path.exists(os.path.join(BENCH_VENV, "bin", "thumbor")):
        log(f"creating .venv-bench with thumbor=={THUMBOR_VERSION}")
        run([sys.executable, "-m", "venv", BENCH_VENV])
        run([os.path.join(BENCH_VENV, "bin", "pip"), "install", "-q", f"thumbor=={THUMBOR_VERSION}"])
    if not os.path.exists(os.path.join(BENCH_NODE, "node_modules", "sharp")):
        if not shutil.which("npm"):
            raise SystemExit("install Node.js and npm (apt-get install -y nodejs npm) for the sharp peer")
        log(f"installing sharp@{SHARP_VERSION} into .bench-node")
        run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", BENCH_NODE, f"sharp@{SHARP_VERSION}"])
    log("building avenue-media (release)")
    run(["cargo", "build", "--release", "--bin", "avenue-media"], cwd=ROOT)


def make_photo(path, width, height):
    """A photo-like JPEG (gradients and noise), made with thumbor's Pillow."""
    code = (
        "import sys\n"
        "from PIL import Image\n"
        "w, h = int(sys.argv[2]), int(sys.argv[3])\n"
        "base = Image.linear_gradient('L').resize((w, h))\n"
        "noise = Image.effect_noise((w, h), 40)\n"
        "img = Image.merge('RGB', (base, noise, base.rotate(90).resize((w, h))))\n"
        "img.save(sys.argv[1], quality=90)\n"
    )
    run([os.path.join(BENCH_VENV, "bin", "python"), "-c", code, path, str(width), str(height)])


def make_logo(path):
    """A 400x200 logo with soft transparent edges, as a brand uploads it."""
    code = (
        "import sys\n"
        "from PIL import Image, ImageDraw\n"
        "img = Image.new('RGBA', (400, 200), (0, 0, 0, 0))\n"
        "ImageDraw.Draw(img).ellipse((10, 10, 390, 190), fill=(250, 250, 250, 200))\n"
        "ImageDraw.Draw(img).rectangle((120, 70, 280, 130), fill=(20, 20, 20, 255))\n"
        "img.save(sys.argv[1])\n"
    )
    run([os.path.join(BENCH_VENV, "bin", "python"), "-c", code, path])


def face_photo():
    """scikit-image's astronaut (a real face), from the scripts' venv."""
    folder = subprocess.run([os.path.join(ROOT, ".venv-mongo", "bin", "python"),
                             os.path.join(ROOT, "scripts", "faces_reference.py"), "--photos"],
                            check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(folder, "astronaut.png")


def upload(base, token, path):
    with open(path, "rb") as f:
        req = urllib.request.Request(f"{base}/v1/media", data=f.read(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)["id"]


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url, connections, script=None, args=()):
    cmd = ["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{DURATION}s", "--latency"]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    if args:
        cmd += ["--", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        lat[pct] = float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{out}")
    return {"rps": rps, "p50_ms": lat["50"], "p99_ms": lat["99"]}


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


COLD_SCRIPT = """
-- Each request asks for a distinct variant (a pad colour that c_fill never
-- uses changes the cache key, not the work), so nothing is ever cached.
-- Arguments: media id, offset, transformation before the colour, after it,
-- extension, and the Accept header ("-" for none).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  n = 0
  media, offset, before, after, ext, accept = args[1], tonumber(args[2]), args[3], args[4], args[5], args[6]
  if after == "-" then after = "" end
  headers = {}
  if accept ~= "-" then headers["Accept"] = accept end
end
function request()
  n = n + 1
  local colour = (offset + tid * 1000000 + n) % 16777216
  local path = "/image/upload/" .. before .. string.format(",b_rgb:%06x", colour) .. after .. "/" .. media .. "." .. ext
  return wrk.format("GET", path, headers)
end
"""


def main():
    ensure_tools()
    tmp = tempfile.mkdtemp(prefix="avenue-bench-")
    try:
        bench(tmp)
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


SSIM_SCRIPT = r"""
import io, json, sys
from PIL import Image, ImageOps
source, outputs = sys.argv[1], json.loads(sys.argv[2])
ref = ImageOps.fit(Image.open(source).convert("L"), (400, 300), Image.LANCZOS)
def ssim(a, b):
    # Mean SSIM over 8x8 windows of the luma (Wang et al. 2004 constants).
    w, h = a.size
    pa, pb = a.load(), b.load()
    c1, c2, total, count = 6.5025, 58.5225, 0.0, 0
    for y0 in range(0, h - 7, 8):
        for x0 in range(0, w - 7, 8):
            xs = [pa[x, y] for y in range(y0, y0 + 8) for x in range(x0, x0 + 8)]
            ys = [pb[x, y] for y in range(y0, y0 + 8) for x in range(x0, x0 + 8)]
            mx, my = sum(xs) / 64, sum(ys) / 64
            vx = sum((v - mx) ** 2 for v in xs) / 63
            vy = sum((v - my) ** 2 for v in ys) / 63
            cov = sum((p - mx) * (q - my) for p, q in zip(xs, ys)) / 63
            total += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
            count += 1
    return total / count
out = {}
for name, path in outputs.items():
    try:
        out[name] = ssim(ref, Image.open(path).convert("L").resize((400, 300)))
    except Exception as err:
        out[name] = None
print(json.dumps(out))
"""

UPLOAD_SCRIPT = r"""
import sys, time, gridfs, pymongo
uri, path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, "rb").read()
bucket = gridfs.GridFSBucket(pymongo.MongoClient(uri)["bench_driver"])
started = time.perf_counter()
for i in range(rounds):
    bucket.upload_from_stream(f"upload-{i}", data + i.to_bytes(4, "big"))
print(rounds * len(data) / (time.perf_counter() - started) / 1e6)
"""


def fetch_bytes(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=300) as r:
        return r.headers.get("content-type"), r.read()


def bench(tmp):
    mongo_port, media_port, thumbor_port, nginx_port, sharp_port = (free_port() for _ in range(5))
    mongo_uri = f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true"
    start([os.path.join(ROOT, ".venv-mongo", "bin", "secantusd-py"), "--host", "127.0.0.1", "--port", str(mongo_port),
           "--storage-path", os.path.join(tmp, "mongo"), "--sync-on-commit"], log_path=os.path.join(tmp, "mongo.log"))
    env = {**os.environ, "MONGODB_URI": mongo_uri, "MONGODB_DB": "bench",
           "MEDIA_BIND": f"127.0.0.1:{media_port}", "MEDIA_STRICT": "false", "RUST_LOG": "warn",
           "MEDIA_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024),
           # Every load generator connects from 127.0.0.1, like a CDN's few
           # edges: no cap per peer, as behind an ingress.
           "HTTP_MAX_CONNECTIONS_PER_PEER": "0"}
    binary = os.path.join(ROOT, "target", "release", "avenue-media")
    time.sleep(0.5)
    media = start([binary], env=env, log_path=os.path.join(tmp, "media.log"))
    base = f"http://127.0.0.1:{media_port}"
    wait_http(f"{base}/readyz")
    token = subprocess.run([binary, "token"], env=env, check=True, capture_output=True, text=True).stdout.strip()

    photo = os.path.join(tmp, "photo.jpg")
    big = os.path.join(tmp, "big.jpg")
    make_photo(photo, 3000, 2000)
    make_photo(big, 6000, 4000)
    photo_id = upload(base, token, photo)
    big_id = upload(base, token, big)
    logo = os.path.join(tmp, "logo.png")
    make_logo(logo)
    face = face_photo()
    originals = {"photo": photo_id, "face": upload(base, token, face)}
    logo_id = upload(base, token, logo)
    rss_idle = peak_rss_mib(media.pid)

    log("16 distinct 24-megapixel renders at once")
    def fetch(i):
        with urllib.request.urlopen(f"{base}/image/upload/c_fill,w_{1200 + i},h_900,q_80/{big_id}.jpg", timeout=300) as r:
            return r.status
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(fetch, range(16)))
    assert all(s == 200 for s in statuses), statuses
    rss_24mp = peak_rss_mib(media.pid)

    script = os.path.join(tmp, "cold.lua")
    with open(script, "w") as f:
        f.write(COLD_SCRIPT)
    results = {}
    cold = [
        ("avenue cold JPEG c=1", 1, (JOB, "-", "jpg", "-")),
        ("avenue cold JPEG c=8", 8, (JOB, "-", "jpg", "-")),
        ("avenue cold WebP c=8", 8, (JOB, "-", "webp", "-")),
        ("avenue cold AVIF c=8", 8, (JOB, "-", "avif", "-")),
    ]
    auto = [
        ("avenue cold f_auto Chrome c=8", 8, ("c_fill,w_400,h_300,q_auto", "/f_auto", "jpg", CHROME)),
        ("avenue cold f_auto Safari c=8", 8, ("c_fill,w_400,h_300,q_auto", "/f_auto", "jpg", SAFARI)),
    ]
    for i, (name, connections, (before, after, ext, accept)) in enumerate(cold):
        log(name)
        results[name] = wrk(base, connections, script, (photo_id, str(i * 8_000_000), before, after, ext, accept))
    for i, (job, original, before, after, ext) in enumerate(JOBS, start=len(cold) + len(auto)):
        name = f"avenue cold {job} c=8"
        log(name)
        results[name] = wrk(base, 8, script, (originals[original], str(i * 8_000_000), before,
                                              after.replace("{logo}", logo_id), ext, "-"))
    # Cache hits on a quiet service: the f_auto runs below leave background
    # AVIF renders queued, which would compete with them.
    hit_url = f"{base}/image/upload/{JOB}/{photo_id}.jpg"
    _, rendered = fetch_bytes(hit_url)
    log("cache hits, concurrency 8")
    results["avenue cache hits c=8"] = wrk(hit_url, 8)
    for i, (name, connections, (before, after, ext, accept)) in enumerate(auto, start=len(cold)):
        log(name)
        results[name] = wrk(base, connections, script, (photo_id, str(i * 8_000_000), before, after, ext, accept))
    rss_peak = peak_rss_mib(media.pid)

    log("warm f_auto: what each browser gets once the AVIF exists")
    warm_url = f"{base}/image/upload/c_fill,w_400,h_300,q_auto/f_auto/{photo_id}.jpg"
    fetch_bytes(warm_url, CHROME)
    deadline = time.time() + 120
    while True:
        kind, avif = fetch_bytes(warm_url, CHROME)
        if kind == "image/avif" or time.time() > deadline:
            break
        time.sleep(0.5)
    _, webp = fetch_bytes(warm_url, "image/webp,*/*")
    _, jpeg = fetch_bytes(warm_url, "image/*")
    outputs = {}
    for name, data in (("JPEG", jpeg), ("WebP", webp), ("AVIF", avif)):
        path = os.path.join(tmp, f"warm.{name.lower()}")
        with open(path, "wb") as f:
            f.write(data)
        outputs[name] = path
    ssim = json.loads(subprocess.run([os.path.join(BENCH_VENV, "bin", "python"), "-c", SSIM_SCRIPT, photo,
                                      json.dumps(outputs)], check=True, capture_output=True, text=True).stdout)
    warm = {name: {"bytes": os.path.getsize(path), "ssim": ssim.get(name)} for name, path in outputs.items()}

    log("upload: a 20 MB original into GridFS, against pymongo's GridFS bucket")
    original = os.path.join(tmp, "upload.jpg")
    make_photo(original, 7000, 5000)
    with open(original, "rb") as f:
        data = f.read()
    rounds = 4
    started = time.perf_counter()
    for i in range(rounds):
        # Distinct bytes each round (after the JPEG's end), so none is deduplicated.
        req = urllib.request.Request(f"{base}/v1/media", data=data + i.to_bytes(4, "big"), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"})
        with urllib.request.urlopen(req, timeout=300) as r:
            assert r.status == 201, r.status
    upload_mb_s = rounds * len(data) / (time.perf_counter() - started) / 1e6
    driver_mb_s = float(subprocess.run([os.path.join(ROOT, ".venv-mongo", "bin", "python"), "-c", UPLOAD_SCRIPT,
                                        mongo_uri, original, str(rounds)], check=True, capture_output=True,
                                       text=True).stdout)
    rss_end = peak_rss_mib(media.pid)

    log("sharp/libvips, the same job, operation cache off")
    start(["node", os.path.join(ROOT, "scripts", "bench", "sharp_server.js"), photo, str(sharp_port), logo, face],
          env={**os.environ, "NODE_PATH": os.path.join(BENCH_NODE, "node_modules")},
          log_path=os.path.join(tmp, "sharp.log"))
    sharp_base = f"http://127.0.0.1:{sharp_port}"
    wait_http(f"{sharp_base}/jpeg/warmup")
    for fmt, label in (("jpeg", "JPEG"), ("webp", "WebP"), ("avif", "AVIF")):
        log(f"sharp {label} c=8")
        results[f"sharp {label} c=8"] = wrk(f"{sharp_base}/{fmt}/photo", 8)
    for job, *_ in JOBS:
        log(f"sharp {job} c=8")
        results[f"sharp {job} c=8"] = wrk(f"{sharp_base}/job/{job.split()[0]}/photo", 8)

    cores = os.cpu_count() or 1
    log(f"thumbor, {cores} processes, no result storage")
    images = os.path.join(tmp, "images")
    os.makedirs(images)
    shutil.copy(photo, os.path.join(images, "photo.jpg"))
    conf = os.path.join(tmp, "thumbor.conf")
    with open(conf, "w") as f:
        f.write(f"LOADER = 'thumbor.loaders.file_loader'\nFILE_LOADER_ROOT_PATH = '{images}'\n"
                "STORAGE = 'thumbor.storages.no_storage'\nRESULT_STORAGE = None\nALLOW_UNSAFE_URL = True\n"
                "QUALITY = 80\nAUTO_WEBP = False\n")
    start([os.path.join(BENCH_VENV, "bin", "thumbor"), "--ip", "127.0.0.1", "--port", str(thumbor_port),
           "--conf", conf, "--processes", str(cores), "-l", "error"], log_path=os.path.join(tmp, "thumbor.log"))
    thumbor_url = f"http://127.0.0.1:{thumbor_port}/unsafe/400x300/photo.jpg"
    wait_http(thumbor_url)
    results[f"thumbor JPEG c=8 ({cores} processes)"] = wrk(thumbor_url, 8)

    log("nginx serving the rendered bytes as a static file")
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "card.jpg"), "wb") as f:
        f.write(rendered)
    nginx_conf = os.path.join(tmp, "nginx.conf")
    with open(nginx_conf, "w") as f:
        f.write(f"daemon off;\nworker_processes auto;\npid {tmp}/nginx.pid;\nerror_log {tmp}/nginx-error.log;\n"
                "events { worker_connections 1024; }\n"
                f"http {{ access_log off; default_type image/jpeg; client_body_temp_path {tmp};"
                f" proxy_temp_path {tmp}; fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};"
                f" server {{ listen 127.0.0.1:{nginx_port}; root {www}; }} }}\n")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    start([nginx, "-c", nginx_conf, "-p", tmp])
    nginx_url = f"http://127.0.0.1:{nginx_port}/card.jpg"
    wait_http(nginx_url)
    results["nginx static file c=8"] = wrk(nginx_url, 8)

    r = results
    webp_cold = r["avenue cold WebP c=8"]
    chrome = r["avenue cold f_auto Chrome c=8"]
    ratios = [
        ("cold f_auto (Chrome) / cold WebP, req/s", chrome["rps"] / webp_cold["rps"], ">= 60%"),
        ("cold f_auto (Chrome) / cold WebP, p50", chrome["p50_ms"] / webp_cold["p50_ms"], "<= 2x"),
        ("warm AVIF bytes / WebP bytes", warm["AVIF"]["bytes"] / warm["WebP"]["bytes"], "<= 85%"),
        ("cold JPEG / sharp JPEG", r["avenue cold JPEG c=8"]["rps"] / r["sharp JPEG c=8"]["rps"], ""),
        ("cold WebP / sharp WebP", webp_cold["rps"] / r["sharp WebP c=8"]["rps"], ""),
        ("cold AVIF / sharp AVIF", r["avenue cold AVIF c=8"]["rps"] / r["sharp AVIF c=8"]["rps"], ""),
        *((f"cold {job} / sharp {job}", r[f"avenue cold {job} c=8"]["rps"] / r[f"sharp {job} c=8"]["rps"],
           "at or ahead") for job, *_ in JOBS),
        ("cold JPEG / thumbor (one process per core)",
         r["avenue cold JPEG c=8"]["rps"] / r[f"thumbor JPEG c=8 ({cores} processes)"]["rps"], ""),
        ("cache hits / nginx", r["avenue cache hits c=8"]["rps"] / r["nginx static file c=8"]["rps"], ">= 50%"),
        ("upload into GridFS / pymongo GridFS bucket", upload_mb_s / driver_mb_s, ""),
    ]
    lines = [f"Measured {time.strftime('%Y-%m-%d')} by `make bench` on {machine()}; 3000x2000 photo-like "
             f"JPEG to `{JOB}` (distinct variant per request), wrk for {DURATION} s each, all on loopback.", "",
             "| run | req/s | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {v['rps']:,.1f} | {v['p50_ms']:.2f} | {v['p99_ms']:.2f} |" for name, v in r.items()]
    lines += ["", "| warm `f_auto,q_auto` answer | bytes | SSIM vs source |", "|---|---:|---:|"]
    lines += [f"| {name} | {v['bytes']:,} | {v['ssim']:.4f} |" if v["ssim"] is not None else
              f"| {name} | {v['bytes']:,} | n/a |" for name, v in warm.items()]
    lines += ["", "| ratio | measured | target |", "|---|---:|---|"]
    # A ratio reads as a percentage, or as "N.NNx" where its target is one.
    times = {"cold f_auto (Chrome) / cold WebP, p50", "cold JPEG / thumbor (one process per core)"}
    lines += [f"| {name} | {value:.2f}x | {target} |" if name in times else f"| {name} | {value:.0%} | {target} |"
              for name, value, target in ratios]
    lines += ["", f"Upload of a {len(data) / 1e6:.1f} MB original: {upload_mb_s:.1f} MB/s through avenue-media "
              f"(decoded and checked), {driver_mb_s:.1f} MB/s by pymongo's GridFS bucket. avenue-media peak RSS: "
              f"{rss_idle:.0f} MiB idle, {rss_24mp:.0f} MiB after 16 concurrent 24 MP renders, {rss_peak:.0f} MiB "
              f"after the load runs, {rss_end:.0f} MiB after the uploads."]
    table = "\n".join(lines)
    print()
    print(table)
    out = os.path.join(ROOT, "target", "bench-results.json")
    with open(out, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "results": r, "warm": warm,
                   "ratios": {name: value for name, value, _ in ratios},
                   "upload_mb_s": {"avenue": upload_mb_s, "pymongo": driver_mb_s},
                   "rss_mib": {"idle": rss_idle, "after_24mp": rss_24mp, "load": rss_peak, "end": rss_end}}, f, indent=2)
    write_readme(table)
    print(f"(also written to {os.path.relpath(out, ROOT)} and README.md)")


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores ({model}), {mem_gib:.0f} GiB, shared"


def write_readme(table):
    path = os.path.join(ROOT, "README.md")
    with open(path) as f:
        text = f.read()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin not in text or end not in text:
        log("README has no bench markers; table printed only")
        return
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(f"{head}{begin}\n{table}\n{end}{tail}")


if __name__ == "__main__":
    main()
