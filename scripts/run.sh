#!/usr/bin/env bash
# `make run`: the whole stack on this machine. SecantusDB keeps its data in
# .data/mongo (git-ignored) so media survive restarts; Ctrl-C stops it all.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

MONGO_PORT=${MONGO_PORT:-27017}
export MEDIA_BIND=${MEDIA_BIND:-127.0.0.1:8081}
export API_BIND=${API_BIND:-127.0.0.1:8080}
# The media page forwards the browser's address to the api's sign-in.
export TRUSTED_PROXIES=${TRUSTED_PROXIES:-127.0.0.1/32}
export MEDIA_URL=${MEDIA_URL:-http://$MEDIA_BIND}
export MONGODB_URI=${MONGODB_URI:-mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true}
export MONGODB_DB=${MONGODB_DB:-avenue}
# Email really leaves over SMTP: to a local sink that keeps each message as
# JSON in .data/mail, unless SMTP_URL names a real relay.
SMTP_PORT=${SMTP_PORT:-2525}
local_mail=0
if [ -z "${SMTP_URL:-}" ]; then
  export SMTP_URL=smtp://127.0.0.1:$SMTP_PORT
  local_mail=1
fi

ensure_system_packages
ensure_venv
cargo build --workspace --bins

pids=()
stop() {
  trap - INT TERM EXIT
  log "stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

mkdir -p .data
log "starting SecantusDB on 127.0.0.1:$MONGO_PORT (data in .data/mongo)"
start_mongo "$MONGO_PORT" .data/mongo .data/mongo.log
pids+=("$MONGO_PID")
if [ "$local_mail" = 1 ]; then
  log "starting the SMTP sink on 127.0.0.1:$SMTP_PORT (mail in .data/mail)"
  "$VENV/bin/python" scripts/smtp_sink.py --port "$SMTP_PORT" --dir .data/mail \
    >.data/mail.log 2>&1 & pids+=($!)
  wait_port "$SMTP_PORT" 30
fi

target/debug/avenue-media & pids+=($!)
target/debug/avenue-api & pids+=($!)
wait_port "${MEDIA_BIND##*:}" 60
wait_port "${API_BIND##*:}" 60

token=$(target/debug/avenue-media token --sub dev-admin --role admin 2>/dev/null)
# A first admin for the api; already there after the first run.
ADMIN_EMAIL=${ADMIN_EMAIL:-admin@avenue.local}
ADMIN_PASSWORD=${ADMIN_PASSWORD:-avenue-dev-admin}
AVENUE_ADMIN_PASSWORD=$ADMIN_PASSWORD target/debug/avenue-api create-admin --email "$ADMIN_EMAIL" \
  >/dev/null 2>&1 || true
cat <<TXT

  avenue-media  http://$MEDIA_BIND   (media library page: http://$MEDIA_BIND/admin/media, reference: /v1/docs)
  avenue-api    http://$API_BIND     (API reference: http://$API_BIND/api/docs)
  MongoDB       $MONGODB_URI
  Email         $SMTP_URL$([ "$local_mail" = 1 ] && echo "   (delivered messages: .data/mail/*.json)")

  Media admin token (12 h, signed with the dev secret unless AVENUE_JWT_SECRET is set):
  export TOKEN=$token
  Api admin: $ADMIN_EMAIL / $ADMIN_PASSWORD (POST /api/auth/login)

  Try:  curl -H "Authorization: Bearer \$TOKEN" -F file=@photo.jpg http://$MEDIA_BIND/v1/media

  Ctrl-C stops everything.
TXT
wait -n "${pids[@]}"
