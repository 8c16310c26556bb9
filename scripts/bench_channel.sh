#!/usr/bin/env bash
# Reproduces docs/benchmarks.md "Customer channel": starts the demo bot with the embedded defaults
# (`supportbot up --no-train`: action server, Rasa, bot service; SQLite store and tracker store), then
# runs `supportbot bench chat` at N = 1, 20 and 50 sessions (rule-answered messages, customer pacing)
# and once back to back (saturation), each in ROUNDS rounds that alternate which path goes first
# (`--rounds`). One JSON object per run on stdout, with the bot service's CPU per message
# (`bot_cpu_ms_per_message`, from /proc); logs under var/logs/.
#
#   scripts/bench_channel.sh [MESSAGES] [THINK_MS]        # defaults: 10 messages, 2000 ms, ROUNDS=2
#   SESSIONS="50" SATURATION=0 scripts/bench_channel.sh   # only N = 50, no back-to-back run
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${1:-10}
THINK=${2:-2000}
ROUNDS=${ROUNDS:-2}
BIN=.venv/bin
BOT_URL=http://127.0.0.1:${SUPPORTBOT_PORT:-8000}
RASA_URL=http://127.0.0.1:${SUPPORTBOT_RASA_PORT:-5005}
mkdir -p var/logs
# the bench is one IP sending many sessions' messages: the per-IP and per-session limits would refuse it
export SUPPORTBOT_SESSION_RATE_PER_MINUTE=0 SUPPORTBOT_IP_RATE_PER_MINUTE=0 SUPPORTBOT_WS_MAX_SOCKETS_PER_IP=0
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
# the bot service's CPU time (user + system, ms) from /proc, to report its CPU per message it handled
BOT_PID=$(pgrep -f -- "-m bot.serve" | head -1)
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' "/proc/$BOT_PID/stat"; }
bench() {  # one `bench chat` run; its JSON gains bot_cpu_ms_per_message
  local before after
  before=$(cpu_ms)
  "$BIN/supportbot" bench chat "$@" --rounds "$ROUNDS" 2>> var/logs/bench_chat.log > var/logs/bench_last.json
  after=$(cpu_ms)
  "$BIN/python" -c 'import json, sys; r = json.load(open(sys.argv[1])); used = int(sys.argv[2]); \
r["bot_cpu_ms_per_message"] = round(used / r["sent"], 2) if r["sent"] else None; print(json.dumps(r))' \
    var/logs/bench_last.json "$((after - before))"
}
# warm-up, not recorded: the first messages through each Rasa process pay one-off costs (graph tracing,
# connection set-up) that would otherwise land on whichever path is measured first
"$BIN/supportbot" bench chat --sessions 8 --messages 10 --think-ms 0 > /dev/null 2>> var/logs/bench_chat.log
for N in ${SESSIONS:-1 20 50}; do
  bench --sessions "$N" --messages "$MESSAGES" --think-ms "$THINK"
done
if [ "${SATURATION:-1}" = 1 ]; then
  bench --sessions 50 --messages "$MESSAGES" --think-ms 0
fi
