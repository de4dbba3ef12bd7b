"""A daemon's processes read from /proc, for the tests and the benchmarks
(bench/benchlib.py) that count its workers, CPU time or memory."""
import os


def stat(pid):
    """The fields of /proc/PID/stat after the command name (which may hold
    spaces): [0] state, [1] ppid, ... [11] utime, [12] stime, [13] cutime,
    [14] cstime.  OSError when pid is gone."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def _kids():
    """{ppid: [pid, ...]} over every process now."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            ppid = int(stat(d)[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def children(pid):
    """The pids whose parent is pid now, sorted."""
    return sorted(_kids().get(pid, []))


def descendants(root):
    """root and every process below it now."""
    kids = _kids()
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def status_kib(pid, field="VmRSS"):
    """A KiB field of /proc/PID/status (VmRSS, RssAnon, ...); 0 when the
    field or the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
