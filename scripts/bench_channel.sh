#!/usr/bin/env bash
# Reproduces docs/benchmarks.md "Customer channel": starts the demo bot with the embedded defaults
# (`supportbot up --no-train`: action server, Rasa, bot service; SQLite store and tracker store), then
# runs `supportbot bench chat` at N = 1, 20 and 50 sessions (rule-answered messages, customer pacing)
# and once back to back (saturation). One JSON object per run on stdout; logs under var/logs/.
#
#   scripts/bench_channel.sh [MESSAGES] [THINK_MS]        # defaults: 10 messages, 2000 ms
#   SESSIONS="50" SATURATION=0 scripts/bench_channel.sh   # only N = 50, no back-to-back run
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${1:-10}
THINK=${2:-2000}
BIN=.venv/bin
BOT_URL=http://127.0.0.1:${SUPPORTBOT_PORT:-8000}
RASA_URL=http://127.0.0.1:${SUPPORTBOT_RASA_PORT:-5005}
mkdir -p var/logs
# the bench is one IP sending many sessions' messages: the per-IP and per-session limits would refuse it
export SUPPORTBOT_SESSION_RATE_PER_MINUTE=0 SUPPORTBOT_IP_RATE_PER_MINUTE=0
"$BIN/supportbot" up --no-train > var/logs/bench_up.log 2>&1 &
UP=$!
trap 'kill -TERM $UP 2>/dev/null; wait $UP 2>/dev/null || true' EXIT
for _ in $(seq 1 180); do
  if curl -sf "$BOT_URL/healthz" > /dev/null && curl -sf "$RASA_URL/status" | grep -q model_file; then
    break
  fi
  sleep 1
done
curl -sf "$BOT_URL/healthz" > /dev/null || { echo "the stack did not start; see var/logs/bench_up.log" >&2; exit 1; }
for N in ${SESSIONS:-1 20 50}; do
  "$BIN/supportbot" bench chat --sessions "$N" --messages "$MESSAGES" --think-ms "$THINK" 2>> var/logs/bench_chat.log
done
if [ "${SATURATION:-1}" = 1 ]; then
  "$BIN/supportbot" bench chat --sessions 50 --messages "$MESSAGES" --think-ms 0 2>> var/logs/bench_chat.log
fi
