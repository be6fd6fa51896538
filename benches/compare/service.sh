#!/bin/bash
# Start program of the compare harness's TCP service (a self-daemonizing
# service with a pidfile). Usage: service.sh PIDFILE PORT HARNESS
#
# It first appends the moment it ran to PIDFILE.starts, taken from bash's
# EPOCHREALTIME builtin (microseconds, no fork), so the harness measures
# SIGKILL -> start program running; then it starts the harness binary in
# service mode (`--serve PORT`) in a session of its own, so the monitor is
# not its parent, and writes the pidfile atomically (write, then rename).
stamp=$EPOCHREALTIME
echo "$stamp" >> "$1.starts"
setsid "$3" --serve "$2" </dev/null >/dev/null 2>&1 &
echo $! > "$1.tmp"
mv -f "$1.tmp" "$1"
