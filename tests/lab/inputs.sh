# inputs.sh - hostile input files given to the lab's commands, sourced once by
# tests/lab/run.sh before its summary (its $hawk, $work, $traces and the
# harness's ok/fail/expect): each is refused with one line on stderr and the
# command's exit status for bad input, in bounded time and memory, and what
# the line quotes of the file is shown without its control characters.
# shellcheck shell=bash

# peak_kib CMD...: runs CMD (output discarded, at most 60 s) and prints
# "STATUS SECONDS KIB": its exit status, time and largest resident size.
peak_kib() {
  python3 -c '
import resource, subprocess, sys, time
t = time.monotonic()
try:
    rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        timeout=60).returncode
except subprocess.TimeoutExpired:
    rc = "timeout"
print(rc, "%.1f" % (time.monotonic() - t), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
' "$@"
}

# refused_line NAME STATUS PATTERN CMD...: CMD (at most 10 s) exits with
# STATUS and its stderr is one line matching the extended regex PATTERN.
refused_line() {
  local name=$1 want=$2 re=$3
  shift 3
  timeout 10 "$@" >/dev/null 2>"$work/inputs.err"
  local rc=$?
  local lines
  lines=$(wc -l <"$work/inputs.err")
  if ((rc == want && lines == 1)) && grep -qE "$re" "$work/inputs.err"; then
    ok "$name"
  else
    fail "$name" "exit $rc (want $want), $lines lines on stderr (want 1)" \
      "$(head -c 600 "$work/inputs.err" | cat -v)"
  fi
}

# --- a FIFO with no writer ------------------------------------------------------

# Every command that reads a file opened it before looking at what it is: on
# a FIFO nobody writes to the open waited for ever.  Now the open does not
# wait, and anything but a regular file is refused, as a directory is.
mkfifo "$work/fifo"
refused_line "inputs_fifo_replay: hawk replay of a FIFO is refused (exit 1)" 1 \
  'fifo: not a regular file$' "$hawk" replay "$work/fifo"
refused_line "inputs_fifo_view: hawk view of a FIFO is refused (exit 2)" 2 \
  'fifo: not a regular file$' "$hawk" view --out "$work/fifo.html" "$work/fifo"
refused_line "inputs_fifo_map: hawk map --trace of a FIFO is refused (exit 1)" 1 \
  'fifo: not a regular file$' "$hawk" map --trace "$work/fifo" --out "$work/fifo.svg"
refused_line "inputs_fifo_render: hawk render of a FIFO is refused (exit 2)" 2 \
  'fifo: not a regular file$' "$hawk" render --out "$work/fifo.svg" "$work/fifo"
refused_line "inputs_fifo_render_summary: hawk render --summary of a FIFO is refused (exit 2)" 2 \
  'fifo: not a regular file$' "$hawk" render --summary "$work/fifo"
