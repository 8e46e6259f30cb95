"""How long `import labkit` takes in a fresh interpreter (best of 5; issue 2's target: < 0.3 s)."""
import subprocess
import sys

code = "import time; t = time.perf_counter(); import labkit; print(time.perf_counter() - t)"
runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(5)]
print(f"import labkit: best {min(runs) * 1000:.0f} ms, worst {max(runs) * 1000:.0f} ms (target < 300 ms)")
