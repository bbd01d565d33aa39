#!/usr/bin/env bash
# Smoke test of the dashboard in a real terminal: starts `evodash --demo` in a detached tmux
# session at 160x45, waits for the data, deletes one instance (ctrl+d, y) and clears all
# (X, type ALL, enter), checking the screen text with capture-pane. Exit 0 = pass.
#   usage: tests/smoke_tmux.sh [evodash command]     (default: evodash on PATH)
set -euo pipefail

EVODASH=${1:-evodash}
SESSION="evodash-smoke-$$"
SOCKET="evodash-smoke-$$"
TMUX_CMD=(tmux -L "$SOCKET")

# the demo keeps its world between runs: this script uses a world of its own (never the
# operator's practice world), fresh, and removes it at the end
OWN_WORLD=""
if [ -z "${EVODASH_DEMO_DIR:-}" ]; then
    OWN_WORLD=$(mktemp -d)
    export EVODASH_DEMO_DIR="$OWN_WORLD"
fi
cleanup() {
    "${TMUX_CMD[@]}" kill-server 2>/dev/null || true
    if [ -n "$OWN_WORLD" ]; then rm -rf "$OWN_WORLD"; fi
}
trap cleanup EXIT

screen() { "${TMUX_CMD[@]}" capture-pane -p -t "${SESSION}"; }

wait_for() {  # wait_for <regex> <seconds>
    local pattern=$1 deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        if screen | grep -Eq -- "$pattern"; then return 0; fi
        sleep 0.2
    done
    echo "smoke: timed out waiting for /$pattern/; screen was:" >&2
    screen >&2
    return 1
}

"${TMUX_CMD[@]}" -f /dev/null new-session -d -s "$SESSION" -x 160 -y 45 \
    "TERM=xterm-256color EVODASH_DEMO_DIR=$EVODASH_DEMO_DIR $EVODASH --demo-reset; echo EVODASH-EXITED \$?; sleep 30"
wait_for "instances 36 · records 34" 60
wait_for "fabiotelec_1_1761316762" 10

# delete the cursor row (the first instance) — y confirms
"${TMUX_CMD[@]}" send-keys -t "$SESSION" C-d
wait_for "Delete fabiotelec_1_1761316762\?" 10
"${TMUX_CMD[@]}" send-keys -t "$SESSION" y
wait_for "delete · all resellers: 1 target · removed 1 · records removed 1" 30
wait_for "instances 35 · records 33" 15

# clear all: the modal only accepts the typed scope word
"${TMUX_CMD[@]}" send-keys -t "$SESSION" X
wait_for "Type 'ALL' to confirm" 15
"${TMUX_CMD[@]}" send-keys -t "$SESSION" -l "ALL"
"${TMUX_CMD[@]}" send-keys -t "$SESSION" Enter
wait_for "clear-all · all resellers: [0-9]+ targets" 60
wait_for "instances 0 · records [0-9]+" 15

# quit cleanly
"${TMUX_CMD[@]}" send-keys -t "$SESSION" q
wait_for "EVODASH-EXITED 0" 15

# SSH drop: the terminal goes away (tmux sends SIGHUP) -> evodash exits on its own
# (--demo-reset: the demo kept the cleared world of the session above)
PIDFILE=$(mktemp)
"${TMUX_CMD[@]}" new-session -d -s "$SESSION-hup" -x 80 -y 24 \
    "echo \$\$ > $PIDFILE; TERM=xterm-256color EVODASH_DEMO_DIR=$EVODASH_DEMO_DIR exec $EVODASH --demo-reset"
SESSION="$SESSION-hup" wait_for "inst 36 · rec 34" 60
PID=$(cat "$PIDFILE")
"${TMUX_CMD[@]}" kill-session -t "$SESSION-hup"
# A process that exited but is not reaped yet (a zombie of the tmux server) counts as gone.
alive() { [ -r "/proc/$1/stat" ] && ! awk '{ exit ($3 == "Z") ? 0 : 1 }' "/proc/$1/stat"; }
for _ in $(seq 1 150); do
    alive "$PID" || break
    sleep 0.2
done
rm -f "$PIDFILE"
if alive "$PID"; then
    echo "smoke: evodash (pid $PID) still running 30 s after SIGHUP" >&2
    kill "$PID"
    exit 1
fi
echo "smoke: ok"
