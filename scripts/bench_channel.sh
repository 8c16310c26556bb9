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
#   TEXTS="hello|How do I top up my account by bank transfer?|My card payment was declined, why?" KB_TEXTS=2 \
#     scripts/bench_channel.sh 6                            # KB questions beside a rule answer (by_text);
#                                                           # adds action_cpu_ms_per_kb_answer (from /proc)
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
# Rasa's /status takes the API token (`rasa run --auth-token`, generated in var/ unless SUPPORTBOT_RASA_TOKEN names it)
RASA_TOKEN=${SUPPORTBOT_RASA_TOKEN:-}
for _ in $(seq 1 180); do
  [ -n "$RASA_TOKEN" ] || RASA_TOKEN=$(cat var/rasa_token 2>/dev/null || true)
  if curl -sf "$BOT_URL/healthz" > /dev/null && curl -sf "$RASA_URL/status?token=$RASA_TOKEN" | grep -q model_file; then
    break
  fi
  sleep 1
done
curl -sf "$BOT_URL/healthz" > /dev/null || { echo "the stack did not start; see var/logs/bench_up.log" >&2; exit 1; }
# CPU time (user + system, ms) from /proc of the processes listening on a port (the bot service's, the
# action server's): found by port, not by name, since other stacks may run on the same machine
cpu_ms() { "$BIN/python" -c 'import sys; from bench.kb_profile import cpu_ms, pids_on_port; \
print(int(cpu_ms(pids_on_port(int(sys.argv[1])))))' "$1"; }
BOT_PORT=${SUPPORTBOT_PORT:-8000}
ACTION_PORT=${SUPPORTBOT_ACTION_PORT:-5055}
TEXT_ARGS=()
if [ -n "${TEXTS:-}" ]; then
  IFS='|' read -r -a _texts <<< "$TEXTS"
  for t in "${_texts[@]}"; do TEXT_ARGS+=(--text "$t"); done
fi
bench() {  # one `bench chat` run; its JSON gains bot_cpu_ms_per_message (and the action server's per KB answer)
  local before after abefore aafter
  before=$(cpu_ms "$BOT_PORT"); abefore=$(cpu_ms "$ACTION_PORT")
  "$BIN/supportbot" bench chat "$@" "${TEXT_ARGS[@]}" --rounds "$ROUNDS" 2>> var/logs/bench_chat.log \
    > var/logs/bench_last.json
  after=$(cpu_ms "$BOT_PORT"); aafter=$(cpu_ms "$ACTION_PORT")
  "$BIN/python" -c 'import json, sys; r = json.load(open(sys.argv[1])); used = int(sys.argv[2]); \
r["bot_cpu_ms_per_message"] = round(used / r["sent"], 2) if r["sent"] else None; kb = int(sys.argv[4]); \
n = len(r["texts"]); kb_sent = r["sent"] * kb / n + (r["rasa_direct"] or {}).get("answered", 0) * kb / n if kb else 0; \
r["action_cpu_ms_per_kb_answer"] = round(int(sys.argv[3]) / kb_sent, 2) if kb_sent else None; \
r["loadavg"] = open("/proc/loadavg").read().split()[:3]; print(json.dumps(r))' \
    var/logs/bench_last.json "$((after - before))" "$((aafter - abefore))" "${KB_TEXTS:-0}"
}
# warm-up, not recorded: the first messages through each Rasa process pay one-off costs (graph tracing,
# connection set-up) that would otherwise land on whichever path is measured first
"$BIN/supportbot" bench chat --sessions 8 --messages 10 --think-ms 0 "${TEXT_ARGS[@]}" > /dev/null \
  2>> var/logs/bench_chat.log
for N in ${SESSIONS:-1 20 50}; do
  bench --sessions "$N" --messages "$MESSAGES" --think-ms "$THINK"
done
if [ "${SATURATION:-1}" = 1 ]; then
  bench --sessions 50 --messages "$MESSAGES" --think-ms 0
fi
