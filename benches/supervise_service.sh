#!/bin/bash
# Start program of the supervision benchmark (benches/supervise.rs): a
# self-daemonizing service with a pidfile. Usage: supervise_service.sh PIDFILE
#
# It first appends the moment it ran to PIDFILE.starts, taken from bash's
# EPOCHREALTIME builtin (microseconds, no fork), so the benchmark measures
# SIGKILL -> start program running; then it starts `sleep` in a session of
# its own, so the supervisor is not its parent, and writes the pidfile
# atomically (write, then rename).
stamp=$EPOCHREALTIME
echo "$stamp" >> "$1.starts"
setsid sleep 1000000 </dev/null >/dev/null 2>&1 &
echo $! > "$1.tmp"
mv -f "$1.tmp" "$1"
