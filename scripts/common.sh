#!/usr/bin/env bash
# Shared by run.sh, test.sh and bench scripts: the MongoDB stand-in.
# SecantusDB is a MongoDB-wire-compatible server from PyPI; only
# pre-releases exist, so the version is pinned.

SECANTUS_VERSION="0.7.0b3"
# The SMTP server tests and `make run` deliver to (scripts/smtp_sink.py).
AIOSMTPD_VERSION="1.4.6"
# Checks deploy/k8s/ against the Kubernetes schemas, offline (scripts/validate_k8s.py).
KUBERNETES_VALIDATE_VERSION="1.37.0"
# Cloudinary's official Node SDK: the delivery tests write their URLs with
# it, as front ends do (scripts/cloudinary_url.js).
CLOUDINARY_NPM_VERSION="2.11.0"
# next-cloudinary's URL builder: what CldImage asks for, unsigned.
URL_LOADER_NPM_VERSION="6.3.1"
# The version url-loader 6.3.1 itself pins; named so the tests' own use
# of url-gen is pinned too.
URL_GEN_NPM_VERSION="1.15.0"
# Nuxt Image: its own runtime and Cloudinary provider write the URLs a
# <NuxtImg provider="cloudinary"> asks for (scripts/nuxt_image.mjs).
NUXT_IMAGE_NPM_VERSION="2.1.0"
# The conformance tests' independent pixel reference (scripts/pixel_reference.py)
# and Cloudinary's official Python SDK (scripts/cloudinary_url.py).
PILLOW_VERSION="11.3.0"
CLOUDINARY_PY_VERSION="1.46.3"
# Real photographs with and without faces (astronaut, camera; coffee,
# chelsea, rocket) ship inside scikit-image's package, and its own LBP
# face cascade is the independent detector the face tests check ours by.
SCIKIT_IMAGE_VERSION="0.25.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SDK_DIR="$ROOT/.sdk"
VENV="$ROOT/.venv-mongo"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_venv() {
  if [ -x "$VENV/bin/secantusd-py" ] \
    && "$VENV/bin/pip" show secantusdb 2>/dev/null | grep -q "^Version: $SECANTUS_VERSION\$" \
    && "$VENV/bin/pip" show aiosmtpd 2>/dev/null | grep -q "^Version: $AIOSMTPD_VERSION\$" \
    && "$VENV/bin/pip" show kubernetes-validate 2>/dev/null | grep -q "^Version: $KUBERNETES_VALIDATE_VERSION\$" \
    && "$VENV/bin/pip" show pillow 2>/dev/null | grep -q "^Version: $PILLOW_VERSION\$" \
    && "$VENV/bin/pip" show cloudinary 2>/dev/null | grep -q "^Version: $CLOUDINARY_PY_VERSION\$" \
    && "$VENV/bin/pip" show scikit-image 2>/dev/null | grep -q "^Version: $SCIKIT_IMAGE_VERSION\$"; then
    return 0
  fi
  log "creating $VENV with secantusdb, aiosmtpd, kubernetes-validate, pillow, cloudinary and scikit-image"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    echo "python3 -m venv failed: on Debian run 'apt-get install python3-venv' and retry" >&2
    return 1
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "secantusdb==$SECANTUS_VERSION" "aiosmtpd==$AIOSMTPD_VERSION" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "pillow==$PILLOW_VERSION" \
    "cloudinary==$CLOUDINARY_PY_VERSION" "scikit-image==$SCIKIT_IMAGE_VERSION"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT SECONDS: until something accepts connections on 127.0.0.1:PORT.
wait_port() {
  local port=$1 deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "nothing listens on 127.0.0.1:$port after $2 s" >&2
      return 1
    fi
    sleep 0.2
  done
}

# start_mongo PORT DATA_DIR LOG_FILE: starts SecantusDB in the background,
# sets MONGO_PID, and waits until it accepts connections.
start_mongo() {
  local port=$1 dir=$2 logfile=$3
  mkdir -p "$dir"
  # --sync-on-commit: without it an acknowledged write can be lost on a hard kill.
  "$VENV/bin/secantusd-py" --host 127.0.0.1 --port "$port" --storage-path "$dir" \
    --sync-on-commit >"$logfile" 2>&1 &
  MONGO_PID=$!
  if ! wait_port "$port" 60; then
    tail -20 "$logfile" >&2
    return 1
  fi
}

# The build's Debian packages, from the one list the Dockerfile also reads.
ensure_system_packages() {
  local missing=() package check
  while read -r package check; do
    case "$package" in ''|'#'*) continue ;; esac
    if [ "$check" = dpkg ]; then
      dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
    elif [[ "$check" == /* ]]; then
      [ -e "$check" ] || missing+=("$package")
    else
      command -v "$check" >/dev/null || missing+=("$package")
    fi
  done <"$ROOT/scripts/build-deps.txt"
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing ${missing[*]} (needed to build libjpeg-turbo and link libheif)"
  apt_install "$sudo" "${missing[@]}"
}

# The browser tests drive Debian's Chromium through chromedriver.
ensure_browser() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing ${missing[*]} (for the browser tests)"
  apt_install "$sudo" "${missing[@]}"
}

# The npm packages the tests drive, pinned, in .sdk/ (never global).
ensure_sdks() {
  local installed="$SDK_DIR/node_modules/cloudinary/package.json"
  local loader="$SDK_DIR/node_modules/@cloudinary-util/url-loader/package.json"
  local urlgen="$SDK_DIR/node_modules/@cloudinary/url-gen/package.json"
  local nuxt="$SDK_DIR/node_modules/@nuxt/image/package.json"
  if [ -f "$installed" ] && grep -q "\"version\": \"$CLOUDINARY_NPM_VERSION\"" "$installed" \
    && [ -f "$loader" ] && grep -q "\"version\": \"$URL_LOADER_NPM_VERSION\"" "$loader" \
    && [ -f "$urlgen" ] && grep -q "\"version\": \"$URL_GEN_NPM_VERSION\"" "$urlgen" \
    && [ -f "$nuxt" ] && grep -q "\"version\": \"$NUXT_IMAGE_NPM_VERSION\"" "$nuxt"; then
    return 0
  fi
  if ! command -v npm >/dev/null; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    log "installing nodejs and npm (the tests write URLs with Cloudinary's SDK)"
    apt_install "$sudo" nodejs npm
  fi
  log "installing cloudinary@$CLOUDINARY_NPM_VERSION, @cloudinary-util/url-loader@$URL_LOADER_NPM_VERSION, @cloudinary/url-gen@$URL_GEN_NPM_VERSION and @nuxt/image@$NUXT_IMAGE_NPM_VERSION into $SDK_DIR"
  mkdir -p "$SDK_DIR"
  npm install --prefix "$SDK_DIR" --no-audit --no-fund --silent \
    "cloudinary@$CLOUDINARY_NPM_VERSION" "@cloudinary-util/url-loader@$URL_LOADER_NPM_VERSION" \
    "@cloudinary/url-gen@$URL_GEN_NPM_VERSION" "@nuxt/image@$NUXT_IMAGE_NPM_VERSION"
}

apt_install() {
  local sudo=$1
  shift
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" \
    || { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; }
}
