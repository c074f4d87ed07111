#!/usr/bin/env python3
"""One-chunk embedding latency through `nativelm serve`, as the app sees it: write one request line, read
the reply line. usage: serve_latency.py NATIVELM MODEL_DIR TOKEN_IDS_JSON [REPS]

Requests carry token ids (the chunks of the peers' data/token_ids.json, 128 tokens each), so the time is
the process's: JSON in, forward pass, pooling, JSON out. Prints the median and min-max over REPS requests
after 5 warm-up requests (the first also loads the model)."""
import json
import statistics
import subprocess
import sys
import time


def main():
    exe, model, ids_path = sys.argv[1:4]
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    chunks = json.load(open(ids_path))
    proc = subprocess.Popen([exe, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    times = []
    for i in range(reps + 5):
        req = {"id": i, "command": "embed", "model": model, "tokens": chunks[i % len(chunks)][:128]}
        t0 = time.perf_counter()
        proc.stdin.write(json.dumps(req) + "\n")
        proc.stdin.flush()
        reply = json.loads(proc.stdout.readline())
        dt = (time.perf_counter() - t0) * 1e3
        if not reply.get("success"):
            sys.exit(f"request failed: {reply}")
        if i >= 5:
            times.append(dt)
    proc.stdin.close()
    proc.wait()
    print(f"serve one chunk (128 tokens): median {statistics.median(times):.2f} ms, "
          f"min {min(times):.2f}, max {max(times):.2f} over {len(times)} requests")


if __name__ == "__main__":
    main()
