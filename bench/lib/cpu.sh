# CPU time of the processes a benchmark measures, from /proc (sourced by the bench scripts).
# On a shared machine the CPU a request costs varies far less than requests per second, so the
# benchmarks print both.

# cpu_ticks PID...: user+system clock ticks used so far by the processes (all their threads).
cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

# cpu_backend_ticks POSTMASTER_PID: the same for every child of a PostgreSQL postmaster (the
# backends, autovacuum, the WAL writer and checkpointer: all of a request's database cost).
cpu_backend_ticks() {
  # shellcheck disable=SC2046 # one pid per word
  cpu_ticks $(pgrep -P "$1")
}

# cpu_ms_per TICKS COUNT: milliseconds of CPU per unit, or "-" when nothing was counted.
cpu_ms_per() {
  awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { if (n > 0) printf "%.3f", t * 1000 / hz / n; else print "-" }'
}
