"""The stack `run.sh` started, as the tests see it: the control plane, its database, the node
runner's state directory, and the processes of each node.

Tests reach the nodes the way an operator on the machine would: `nodes.json` written by
`coffer-node-runner`, `/proc` for pids, the data directories for logs and the audit file. This
module is also where failure context comes from (log tails of every process involved).
"""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


def _need(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the suite through tests/e2e/run.sh")
    return value


@dataclass
class Stack:
    cp_url: str
    db_url: str
    workdir: Path
    runner_state: Path
    bin_dir: Path

    @staticmethod
    def from_env():
        target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/coffer/target"))
        return Stack(
            cp_url=_need("CP_URL"),
            db_url=_need("E2E_DB_URL"),
            workdir=Path(_need("E2E_WORK")),
            runner_state=Path(_need("RUNNER_STATE")),
            bin_dir=target / "debug",
        )

    # ------------------------------------------------------------------ database

    def sql(self, query, *args):
        """Rows of a read-only query as lists of strings (psql -tA; `:'v1'` style variables)."""
        cmd = ["psql", "-X", "-q", "-tA", "-F", "\t", "-v", "ON_ERROR_STOP=1", self.db_url]
        for i, a in enumerate(args, 1):
            cmd += ["-v", f"v{i}={a}"]
        out = subprocess.run(cmd, input=query, capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise AssertionError(f"psql failed: {out.stderr.strip()}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def resource(self, cluster_id, kind, role=None):
        """(resource_id, arn) of the cluster's tracked resource of `kind` (and `role`)."""
        rows = self.sql(
            "SELECT resource_id, coalesce(arn, ''), coalesce(role, '') FROM cluster_resources "
            "WHERE cluster_id = :'v1' AND kind = :'v2' AND state = 'present' ORDER BY created_at",
            cluster_id,
            kind,
        )
        rows = [r for r in rows if role is None or r[2] == role]
        assert rows, f"cluster {cluster_id} tracks no present {kind} resource (role {role})"
        return rows[0][0], rows[0][1]

    # ------------------------------------------------------------------ nodes

    def nodes_file(self):
        return self.runner_state / "nodes.json"

    def nodes(self):
        try:
            return json.loads(self.nodes_file().read_text()).get("nodes", [])
        except FileNotFoundError:
            return []

    def cluster_nodes(self, cluster_id):
        return [n for n in self.nodes() if n.get("cluster_id") == cluster_id]

    def node(self, cluster_id):
        """The cluster's single running node (dev clusters have one)."""
        running = [n for n in self.cluster_nodes(cluster_id) if n.get("state") == "running"]
        assert len(running) == 1, f"expected one running node for {cluster_id}, nodes.json: {self.nodes()}"
        return running[0]

    # ------------------------------------------------------------------ operator CLI

    def operator_create(self, email, password):
        """`coffer-control-plane operator create` with the control plane's database."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
        env.update(
            COFFER_DATABASE__URL=self.db_url,
            COFFER_OPERATOR_PASSWORD=password,
            NO_COLOR="1",
        )
        out = subprocess.run(
            [str(self.bin_dir / "coffer-control-plane"), "operator", "create", "--email", email],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode != 0:
            raise AssertionError(f"operator create failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        return out.stdout

    # ------------------------------------------------------------------ diagnostics

    def log_files(self):
        files = sorted(self.workdir.glob("*.log"))
        for n in self.nodes():
            d = Path(n.get("data_dir", ""))
            if d.is_dir():
                files += sorted(d.glob("*.log"))
        return files

    def diagnostics(self, lines=40):
        parts = [f"nodes.json: {json.dumps(self.nodes(), indent=1)}"]
        for f in self.log_files():
            parts.append(f"---- {f} (last {lines} lines)\n{tail(f, lines)}")
        return "\n".join(parts)


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"<cannot read: {e}>"
    return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------------- processes


def _cmdline(pid):
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]


def alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
    except (OSError, ValueError, TypeError):
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def server_pids(data_dir):
    """Pids of `coffer-server` processes whose command line names a file in `data_dir`."""
    prefix = str(Path(data_dir)) + "/"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        argv = _cmdline(entry.name)
        if not argv or not Path(argv[0]).name.startswith("coffer-server"):
            continue
        if any(a.startswith(prefix) or a.startswith("-config=" + prefix) for a in argv[1:]) and alive(entry.name):
            found.append(int(entry.name))
    return found


def pids_in_dir(data_dir):
    """Every live process whose command line mentions `data_dir` (agent and server)."""
    needle = str(Path(data_dir))
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            argv = _cmdline(entry.name)
            if argv and any(needle in a for a in argv) and alive(entry.name):
                found.append(int(entry.name))
    return found
