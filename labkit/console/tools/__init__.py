"""The simulated tools the console runs on the simulator, one module per tool (real
clusters get the real binaries: console/real.py)."""
