"""What a benchmark needs to know about a process, read from /proc without psutil.

CPU time and peak RSS come from the kernel's own accounting, so they cost the measured process
nothing and count every thread; socket counts come from the process's fd table, so they see
exactly the connections the gateway holds, not the whole machine's.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "alive",
    "cpu_seconds",
    "established_to",
    "memory_kib",
    "parent_pid",
    "process_tree",
    "tree_cpu_seconds",
]

_TICKS = os.sysconf("SC_CLK_TCK")
_ESTABLISHED = "01"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (all threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces and parentheses; fields resume after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _TICKS


def parent_pid(pid: int) -> int:
    """The pid of the process's parent (field 4 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def process_tree(root: int) -> list[int]:
    """`root` and every live process descended from it, read from each process's parent field.

    A supervisor's workers, a Node cluster's forks and their helpers all count: a server's cost
    is its whole tree's, whatever it delegates to its children.
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = parent_pid(int(entry.name))
        except (OSError, IndexError, ValueError):  # gone while we looked
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, ()))
    return sorted(tree)


def tree_cpu_seconds(root: int) -> dict[int, float]:
    """CPU seconds so far of each process in `root`'s tree, by pid (one that exits while being
    read is left out; compare readings pid by pid)."""
    seconds = {}
    for pid in process_tree(root):
        try:
            seconds[pid] = cpu_seconds(pid)
        except OSError:
            continue
    return seconds


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def memory_kib(pid: int, field: str = "VmRSS") -> int:
    """A size line of /proc/<pid>/status, in KiB: VmRSS now, VmHWM the peak so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    raise KeyError(f"{field} not in /proc/{pid}/status")


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for entry in fd_dir.iterdir():
        try:
            target = os.readlink(entry)
        except OSError:  # the fd closed while we looked
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def established_to(pid: int, port: int) -> int:
    """ESTABLISHED TCP connections the process holds whose remote end is `port`."""
    inodes = _socket_inodes(pid)
    count = 0
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            cols = line.split()
            remote_port = int(cols[2].rsplit(":", 1)[1], 16)
            if cols[3] == _ESTABLISHED and remote_port == port and cols[9] in inodes:
                count += 1
    return count
