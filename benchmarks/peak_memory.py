"""Peak resident memory of this process, as benchmarks report it.

``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is wrong for a benchmark's child process on Linux:
the kernel carries the high-water mark across fork and exec, so a child started by a parent
holding 2 GiB reports at least 2 GiB whatever it does itself. ``VmHWM`` in /proc/self/status
belongs to the process's own address space, which exec replaces.
"""


def peak_rss_gib() -> float:
    """Return this process's peak resident set size (VmHWM) in GiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20  # reported in kB
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")
