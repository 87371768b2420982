#!/usr/bin/env python3
"""Checks the shape of each crate's source tree: no import loop between
files, no lower layer that names the HTTP layer, no file over the size
limit. Run by `make lint` (and so by CI); `--graph` prints the edges.

Why a script and not `cargo modules`: it is one file with no install, and
the rule is ours, at file level: an edge a -> b means a's text names a
path inside b (`crate::x::y`, `super::y`, `self::y`), in a `use` or inline.
"""

import argparse
import re
import sys
from pathlib import Path

MAX_LINES = 600
# Folders that must not reach into `http/` (the HTTP kit stands on them, or
# they are below the handlers). Paths are relative to the crate's src/.
LOWER_LAYERS = {
    "api": ["db.rs", "fields.rs", "media/", "users/model.rs", "users/repo.rs",
            "users/password.rs", "shop/money.rs", "maintenance/"],
    "media": ["media/", "process/", "store/", "maintenance/"],
}
# Layers below the domain: they never name the domain folder above them.
BELOW_DOMAIN = {"media": (["process/", "store/"], "media")}
CRATES = ["api", "media", "shared"]

PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP_RE = re.compile(r"\buse\s+(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)


def module_of(src: Path, file: Path) -> tuple:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip_comments(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def expand_groups(text: str):
    """Yields (anchor, path segments) for every path, expanding `use a::{b, c::d}` one level deep."""
    for m in USE_GROUP_RE.finditer(text):
        base = [s for s in m.group(2).split("::") if s]
        for item in re.split(r",(?![^{]*\})", m.group(3)):
            item = item.strip()
            if not item:
                continue
            head = re.match(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*", item)
            if head:
                yield m.group(1), base + head.group(0).split("::")
    for m in PATH_RE.finditer(text):
        yield m.group(1), [s for s in m.group(2).split("::") if s]


def graph(crate: str):
    src = Path(crate) / "src"
    files = sorted(src.rglob("*.rs"))
    modules = {module_of(src, f): f for f in files}
    edges = {}
    for file in files:
        me = module_of(src, file)
        is_mod_file = file.name in ("mod.rs", "lib.rs", "main.rs")
        text = strip_comments(file.read_text())
        targets = set()
        for anchor, segs in expand_groups(text):
            if anchor == "crate":
                base = []
            elif anchor == "self":
                base = list(me)
            else:
                # `super` of a::b (a/b.rs) is a; of a (a/mod.rs) it is a's parent.
                base = list(me)[:-1]
            while segs and segs[0] == "super":
                base, segs = base[:-1], segs[1:]
            path = base + segs
            # The longest prefix that is a file of its own is the edge's target.
            for n in range(len(path), 0, -1):
                cand = tuple(path[:n])
                if cand in modules:
                    # A parent declaring or re-exporting its children is
                    # structure, not a dependency.
                    if cand != me and not (is_mod_file and cand[: len(me)] == me):
                        targets.add(cand)
                    break
        edges[me] = targets
    return src, modules, edges


def cycles(edges):
    """Tarjan's strongly connected components with more than one member."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def name(mod):
    return "/".join(mod) or "lib"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--graph", action="store_true")
    args = ap.parse_args()
    problems = []
    for crate in CRATES:
        src, modules, edges = graph(crate)
        # Parent modules only declare children (`mod x;`); a mod.rs that also
        # imports its children is a real edge, which the text scan sees.
        if args.graph:
            for a in sorted(edges):
                for b in sorted(edges[a]):
                    print(f"{crate}: {name(a)} -> {name(b)}")
        for comp in cycles(edges):
            problems.append(f"{crate}: import loop between " + ", ".join(sorted(name(m) for m in comp)))
        for layer in LOWER_LAYERS.get(crate, []):
            for mod, targets in edges.items():
                path = str(modules[mod].relative_to(src))
                if path == layer or (layer.endswith("/") and path.startswith(layer)):
                    for t in targets:
                        if t and t[0] == "http":
                            problems.append(f"{crate}: {path} (a lower layer) imports {name(t)}")
        if crate in BELOW_DOMAIN:
            layers, domain = BELOW_DOMAIN[crate]
            for mod, targets in edges.items():
                path = str(modules[mod].relative_to(src))
                if any(path.startswith(layer) for layer in layers):
                    for t in targets:
                        if t and t[0] == domain:
                            problems.append(f"{crate}: {path} (below {domain}/) imports {name(t)}")
        for mod, file in modules.items():
            lines = sum(1 for _ in file.open())
            if lines > MAX_LINES:
                problems.append(f"{crate}: {file} has {lines} lines (limit {MAX_LINES})")
    # The tests crate is held to the same size: a test file that grows past
    # it has more than one subject.
    for file in sorted(Path("tests").rglob("*.rs")):
        lines = sum(1 for _ in file.open())
        if lines > MAX_LINES:
            problems.append(f"tests: {file} has {lines} lines (limit {MAX_LINES})")
    for p in problems:
        print(p)
    if problems:
        print(f"structure: {len(problems)} problem(s)", file=sys.stderr)
        sys.exit(1)
    print("structure: no import loop, no lower layer naming http/, no file over "
          f"{MAX_LINES} lines")


if __name__ == "__main__":
    main()
