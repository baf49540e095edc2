-- wrk hook for bench/http/run: after the run, print one machine-readable line
-- with the figures the report needs (latencies in microseconds, wrk's own
-- histogram). wrk counts a response with status > 399 in errors.status.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%d status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean,
    e.status, e.connect, e.read, e.write, e.timeout))
end
