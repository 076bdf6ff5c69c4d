"""What isolation held for one child, as the child measured it, and its one-line description.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Isolation:
    """What isolation actually held for a child (reported in the report header)."""

    uid_dropped: bool = False
    network_isolated: bool = False
    filesystem_isolated: bool = False
    stdlib_readable: bool = True
    limits: dict = field(default_factory=dict)
    bubblewrap: bool = False  # the child's world was built by bwrap, every namespace unshared
    capabilities_dropped: bool = False
    scratch_capped: bool = False  # size- and inode-capped tmpfs scratch
    # The laptop path (``launch.Platform``): resource limits set, the channel, the kill.
    rlimits: bool = True
    transport: str = "pipes"  # "pipes": two extra pipes; "stdio": the child's stdin/stdout
    process_group: bool = True  # a timeout kills the child's whole process group

    @property
    def full(self) -> bool:
        """Everything ``--require-isolation`` asks for held."""
        return (self.bubblewrap and self.capabilities_dropped and self.scratch_capped
                and self.network_isolated and self.filesystem_isolated)

    def describe(self) -> str:
        if self.bubblewrap:
            parts = ["bubblewrap held: own user, pid, ipc, network, uts and cgroup namespaces",
                     "a root of read-only binds (the Python installation only)",
                     "no capabilities" if self.capabilities_dropped else "capabilities NOT dropped",
                     "scratch capped at {} MB and {} files".format(self.limits.get("scratch_mb"),
                                                                   self.limits.get("scratch_inodes"))
                     if self.scratch_capped else "scratch capped in size only"]
            if self.uid_dropped:
                parts.append("unprivileged uid")
            return ", ".join(parts)
        parts = ["bubblewrap not available (fallback)", "separate process", "scratch directory"]
        parts.append("unprivileged uid" if self.uid_dropped else "same user as the grader")
        parts.append("no network" if self.network_isolated else "network not isolated")
        parts.append("read-only file system but its scratch folder" if self.filesystem_isolated
                     else "file system not isolated")
        if not self.rlimits:
            parts.append("no resource limits (CPU, memory, file size: not available here; "
                         "the wall-clock timeout still stops it)")
        if self.transport == "stdio":
            parts.append("calls over its stdin/stdout (its prints are shown as stderr)")
        if not self.process_group:
            parts.append("a timeout kills the child process (no process group: what it starts may outlive it)")
        if not self.stdlib_readable:
            parts.append("standard library limited to pre-imported modules (interpreter not readable by the sandbox uid)")
        return ", ".join(parts)
