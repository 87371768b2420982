#!/usr/bin/env python3
"""`make bench`: load benchmark of avenue-media's render and cache paths
against thumbor and nginx, measured in one run on this machine.

Starts its own MongoDB stand-in, avenue-media (release build), thumbor (one
process, no result storage) and nginx, all on loopback, drives them with
wrk, and prints req/s, p50, p99 and ratios, plus avenue-media's peak RSS.
Everything is stopped and removed at the end. Targets (issue 3): cold
renders at concurrency 8 >= 5x thumbor; cache hits >= 50% of nginx; peak
RSS < 1 GiB while 16 distinct 24-megapixel renders run at once.
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
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
JOB = "c_fill,w_400,h_300,q_80"

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
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  n = 0
  media, offset, job = args[1], tonumber(args[2]), args[3]
end
function request()
  n = n + 1
  local colour = (offset + tid * 1000000 + n) % 16777216
  return wrk.format("GET", "/image/upload/" .. job .. string.format(",b_rgb:%06x/%s.jpg", colour, media))
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


def bench(tmp):
    mongo_port, media_port, thumbor_port, nginx_port = (free_port() for _ in range(4))
    start([os.path.join(ROOT, ".venv-mongo", "bin", "secantusd-py"), "--host", "127.0.0.1", "--port", str(mongo_port),
           "--storage-path", os.path.join(tmp, "mongo"), "--sync-on-commit"], log_path=os.path.join(tmp, "mongo.log"))
    env = {**os.environ, "MONGODB_URI": f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true", "MONGODB_DB": "bench",
           "MEDIA_BIND": f"127.0.0.1:{media_port}", "MEDIA_STRICT": "false", "RUST_LOG": "warn"}
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
    log("cold renders, concurrency 1")
    results["cold c=1"] = wrk(base, 1, script, (photo_id, "0", JOB))
    log("cold renders, concurrency 8")
    results["cold c=8"] = wrk(base, 8, script, (photo_id, "8000000", JOB))
    hit_url = f"{base}/image/upload/{JOB}/{photo_id}.jpg"
    with urllib.request.urlopen(hit_url) as r:
        rendered = r.read()
    log("cache hits, concurrency 8")
    results["hits c=8"] = wrk(hit_url, 8)
    rss_peak = peak_rss_mib(media.pid)

    log("thumbor, one process, no result storage")
    images = os.path.join(tmp, "images")
    os.makedirs(images)
    shutil.copy(photo, os.path.join(images, "photo.jpg"))
    conf = os.path.join(tmp, "thumbor.conf")
    with open(conf, "w") as f:
        f.write(f"LOADER = 'thumbor.loaders.file_loader'\nFILE_LOADER_ROOT_PATH = '{images}'\n"
                "STORAGE = 'thumbor.storages.no_storage'\nRESULT_STORAGE = None\nALLOW_UNSAFE_URL = True\n"
                "QUALITY = 80\nAUTO_WEBP = False\n")
    start([os.path.join(BENCH_VENV, "bin", "thumbor"), "--ip", "127.0.0.1", "--port", str(thumbor_port),
           "--conf", conf, "--processes", "1", "-l", "error"], log_path=os.path.join(tmp, "thumbor.log"))
    thumbor_url = f"http://127.0.0.1:{thumbor_port}/unsafe/400x300/photo.jpg"
    wait_http(thumbor_url)
    results["thumbor c=8"] = wrk(thumbor_url, 8)

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
    results["nginx c=8"] = wrk(nginx_url, 8)

    cold_vs_thumbor = results["cold c=8"]["rps"] / results["thumbor c=8"]["rps"]
    hits_vs_nginx = results["hits c=8"]["rps"] / results["nginx c=8"]["rps"]
    print()
    print(f"avenue-media bench, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
          f"3000x2000 JPEG -> {JOB} ({len(rendered)} bytes)")
    print(f"| run | req/s | p50 ms | p99 ms |")
    print(f"|---|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['rps']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    print()
    print(f"cold renders c=8 / thumbor c=8: {cold_vs_thumbor:.1f}x (target >= 5x)")
    print(f"cache hits c=8 / nginx c=8: {hits_vs_nginx:.0%} (target >= 50%)")
    print(f"avenue-media peak RSS: {rss_idle:.0f} MiB idle, {rss_24mp:.0f} MiB after 16 concurrent 24 MP renders "
          f"(target < 1024), {rss_peak:.0f} MiB at the end")
    out = os.path.join(ROOT, "target", "bench-results.json")
    with open(out, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "results": results, "cold_vs_thumbor": cold_vs_thumbor,
                   "hits_vs_nginx": hits_vs_nginx, "rss_mib": {"idle": rss_idle, "after_24mp": rss_24mp, "end": rss_peak}}, f, indent=2)
    print(f"(also written to {os.path.relpath(out, ROOT)})")


if __name__ == "__main__":
    main()
