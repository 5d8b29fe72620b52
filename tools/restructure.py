#!/usr/bin/env python3
"""Arranges lib/ by concept and gives every script exactly the //SOURCES it uses.

    tools/restructure.py [--check] [--legacy] [REPO_ROOT]
    tools/restructure.py --counts | --layers [REPO_ROOT]

1. Moves each lib/**/*.java to lib/<folder>/ by MAPPING (explicit entries), else by RULES (name
   prefixes); a file neither names is an error that lists it, so every new file gets a decision.
2. Removes //SOURCES from lib files (a lib file pulls nothing in; a file that only pulled others
   in is deleted), then rewrites the //SOURCES block of every scripts/, tests/ and bench/ *.java
   that has one with the transitive closure of the lib files it references: the top-level
   class/record/interface/enum names declared in lib files, matched against the identifiers of
   the code (comments and string literals do not count, except a literal that is exactly a class
   name, as a main class given to a child java process is). Other //SOURCES entries (a test's
   scripts and helpers) are kept and followed. lib/Deps.java comes with every closure,
   lib/McpDeps.java only with one that holds an mcp/ file or code importing the MCP SDK.
3. Updates the other places that name lib paths: the launcher's fingerprint glob (lib/**/*.java),
   any other `lib/*.java` glob, and mentions of lib/X.java in the repo's text files.

Idempotent: a second run changes nothing. --check changes nothing and exits 1 if a run would.
--legacy also places the pre-issue-17 holder files (for trying the tool on an older tree).
--counts prints how many source files each front door compiles (its //SOURCES, followed as JBang
does); --layers prints the references that run from a lower folder up to a higher one.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

# Where each lib file lives. Folder "" is lib/ itself. Explicit entries win over RULES.
FOLDERS = {  # folder -> what it holds; lowest layer first (--layers reports references that go up)
    "": "the //DEPS pins: Deps.java for everything, McpDeps.java for mcp-server only",
    "util": "what every layer uses: the error kinds, the call's environment and interrupts, JSON, parsers, hashing, quoting",
    "target": "target resolution: options, VPS_* variables, .env, ssh_config",
    "ssh": "the SSH session: login, host keys, identities, jumps, reconnects, warm sessions",
    "exec": "remote commands: the bootstrap, streaming, exit status, output capture, locks",
    "transfer": "sftp-put and sftp-get: local and remote trees, striped writes, verification",
    "jobs": "detached jobs: start, follow, reattach",
    "sessions": "interactive programs living on the server: open, send, read, close",
    "diagnose": "diagnose-auth's checks and verdict, and the fix script it prints for the server",
    "setup": "setup-server: the declared state, its one POSIX sh script, the proof of the new login, the client's ssh config",
    "sandbox": "the embedded sandbox SSH server",
    "fleet": "one command on many hosts: host sets, inventories, bounded parallel runs, their output and summary",
    "audit": "the hash-chained audit log of every remote action: append, rotate, verify, read",
    "policy": "the owner's policy: the shell command-line parser, read-only programs, rules and their decision, the guard each remote action calls",
    "tunnel": "-L/-R/-D forwards kept up across drops: specs, the tunnel, SOCKS5, the detached tunnel processes",
    "engine": "the warm per-user engine and what it needs to run calls in-process",
    "mcp": "mcp-server's tools, transport and the target names its calls take",
    "cli": "the picocli wiring every front door shares: usage errors, exit codes, version",
}
MAPPING = {
    "Deps.java": "", "McpDeps.java": "",
    "Json.java": "util", "Durations.java": "util", "ByteSizes.java": "util", "ServerIds.java": "util", "ColdRun.java": "util", "YamlDocument.java": "util", "LocalFolders.java": "util",
    "Sha256.java": "util", "SpillBuffer.java": "util", "ShellQuote.java": "util",
    "VpsException.java": "util", "Environment.java": "util", "Interrupts.java": "util", "Daemons.java": "util", "Processes.java": "util",
    "Cli.java": "cli", "ParentCommand.java": "cli",
    "Target.java": "target", "TargetOptions.java": "target", "TargetResolver.java": "target",
    "TargetJson.java": "target", "TargetNames.java": "mcp", "HostSpec.java": "target", "SshConfig.java": "target",
    "VpsConnection.java": "ssh", "HostKeyVerifier.java": "ssh", "Fingerprints.java": "ssh",
    "Identities.java": "ssh", "KeyFiles.java": "ssh", "JumpProxy.java": "ssh", "UnixSocketProxy.java": "ssh",
    "ServerProbe.java": "ssh", "Reconnect.java": "ssh", "SessionPool.java": "ssh",
    "RemoteCommand.java": "exec", "ExecRunner.java": "exec", "StartGate.java": "exec", "DryRun.java": "policy",
    "ExecOutcome.java": "exec", "Signals.java": "exec", "OutputCapture.java": "exec",
    "Heartbeat.java": "exec", "RemoteLock.java": "exec", "LockOptions.java": "exec",
    "Privilege.java": "exec", "PrivilegeOptions.java": "exec",
    "Terminal.java": "exec", "Interaction.java": "exec", "InteractionOptions.java": "exec",
    "PromptRules.java": "exec", "InputWait.java": "exec", "SecretRedactor.java": "exec",
    "Transfer.java": "transfer", "TransferOptions.java": "cli", "TransferReport.java": "transfer", "TransferProgress.java": "transfer",
    "TransferResult.java": "transfer", "Uploader.java": "transfer", "Downloader.java": "transfer",
    "StripedUpload.java": "transfer", "SftpWriter.java": "transfer", "BackgroundDigest.java": "transfer",
    "LocalTree.java": "transfer", "RemoteFs.java": "transfer", "RemotePaths.java": "transfer",
    "PosixModes.java": "transfer",
    "Jobs.java": "jobs", "DetachedExec.java": "jobs",
    "Sessions.java": "sessions",
    "TunnelSpec.java": "tunnel", "Tunnel.java": "tunnel", "TunnelOptions.java": "tunnel", "Tunnels.java": "tunnel",
    "TunnelDaemon.java": "tunnel", "Socks5.java": "tunnel", "PortHolder.java": "tunnel", "RemoteForwardSockets.java": "tunnel",
    "AuthDiagnosis.java": "diagnose", "FixScript.java": "diagnose",
    "SetupPlan.java": "setup", "SetupScript.java": "setup", "ServerSetup.java": "setup", "LoginProof.java": "setup", "SshClientConfig.java": "setup",
    "Sandbox.java": "sandbox", "SandboxServer.java": "sandbox",
    "FleetHost.java": "fleet", "FleetPlan.java": "fleet", "HostResult.java": "fleet", "FleetRun.java": "fleet",
    "FleetResult.java": "fleet", "FleetOptions.java": "fleet", "HostSet.java": "fleet", "HostOutput.java": "fleet",
    "FleetAware.java": "fleet", "FleetCli.java": "cli", "Inventory.java": "fleet", "HostPattern.java": "fleet",
    "InventoryModel.java": "fleet", "IniInventory.java": "fleet", "YamlInventory.java": "fleet", "HostAddress.java": "fleet",
    "AuditLog.java": "audit", "Audit.java": "audit",
    "ShellCommands.java": "policy", "ReadOnlyPrograms.java": "policy", "Policy.java": "policy", "PolicyAction.java": "policy",
    "Decision.java": "policy", "Guard.java": "policy", "PolicyOptions.java": "policy", "McpConfirm.java": "mcp",
    "McpTunnelTools.java": "mcp",
}
# Name prefixes, first match wins: a folder, or an Error("why") for files that should not exist.
class Error(str):
    pass
RULES = [
    ("Engine", "engine"),
    ("Mcp", "mcp"),
    ("Target", "target"),
    ("Transfer", "transfer"),
    ("Sandbox", "sandbox"),
    ("Holder", Error("the per-target holder goes away with issue 17: delete it")),
    ("ConnectionHolder", Error("the per-target holder goes away with issue 17: delete it")),
    ("WarmConnections", Error("SessionPool replaces it (issue 17): delete it")),
]
# Only with --legacy: the files issue 17 deletes, so the tool can be tried on a tree that still has them.
LEGACY = {name: "reuse" for name in (
    "Holders.java", "HolderFiles.java", "ConnectionHolder.java", "HolderBridge.java", "HolderUpstream.java",
    "HolderChannel.java", "HolderRelay.java", "HolderTransfer.java", "WarmConnections.java")}
# The files whose //SOURCES block is computed: *.java directly in these folders that have one.
FRONT_DOORS = ["scripts", "tests", "bench"]
# Text files whose lib/X.java mentions and lib/*.java globs are updated (besides the *.java files).
TEXT_SUFFIXES = {".md", ".java", ".json", ".sh", ".txt", ".yml", ".yaml"}
IMPORTED_TYPE = re.compile(r"^\s*import\s+[\w.]+\.([A-Z][\w$]*)\s*;", re.M)
MCP_SDK_IMPORT = re.compile(r"^\s*import\s+(static\s+)?io\.modelcontextprotocol\.", re.M)
SOURCES_LINE = re.compile(r"^//SOURCES\b(.*)$")
LINE_WIDTH = 120


def read(p):
    return p.read_text(encoding="utf-8", errors="surrogateescape")


class Repo:
    def __init__(self, root, check):
        self.root = root
        self.check = check
        self.changes = []   # what a run did (or, with --check, would do)
        self.warnings = []

    def rel(self, p):
        return p.relative_to(self.root).as_posix()

    def git(self, *args):
        return subprocess.run(["git", "-C", str(self.root), *args], check=True, capture_output=True, text=True).stdout

    def tracked(self, p):
        return subprocess.run(["git", "-C", str(self.root), "ls-files", "--error-unmatch", self.rel(p)],
                              capture_output=True).returncode == 0

    def write(self, p, text):
        if read(p) != text:
            self.changes.append("edit " + self.rel(p))
            if not self.check:
                p.write_text(text, encoding="utf-8", errors="surrogateescape")

    def move(self, src, dst):
        self.changes.append("move %s -> %s" % (self.rel(src), self.rel(dst)))
        if self.check:
            return
        dst.parent.mkdir(parents=True, exist_ok=True)
        if self.tracked(src):
            self.git("mv", self.rel(src), self.rel(dst))
        else:
            src.rename(dst)
        parent = src.parent
        while parent != self.root / "lib" and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    def delete(self, p, why):
        self.changes.append("delete %s (%s)" % (self.rel(p), why))
        if not self.check:
            if self.tracked(p):
                self.git("rm", "-q", "-f", self.rel(p))
            else:
                p.unlink()


# ---- Java source scanning ------------------------------------------------------------------

TOKEN = re.compile(r'"""(?:\\.|[^\\])*?"""|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|//[^\n]*|/\*.*?\*/|[A-Za-z_$][\w$]*|[{}]',
                   re.S)
IDENT = re.compile(r"[A-Za-z_$][\w$]*$")
DECLARATION = re.compile(r"^(class|interface|enum|record)$")


def tokens(text):
    """The code's identifiers and braces, comments dropped; a string literal counts only when it is
    exactly an identifier (a class name handed to a child `java` process, say)."""
    out = []
    for m in TOKEN.finditer(text):
        t = m.group(0)
        if t.startswith("//") or t.startswith("/*") or t.startswith("'"):
            continue
        if t.startswith('"'):
            inner = t[3:-3] if t.startswith('"""') else t[1:-1]
            if IDENT.match(inner):
                out.append(inner)
            continue
        out.append(t)
    return out


def top_level_types(text):
    """Names of the types declared at brace depth 0; nested types belong to their file."""
    names, depth = [], 0
    toks = tokens(text)
    for i, t in enumerate(toks):
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
        elif depth == 0 and DECLARATION.match(t) and i + 1 < len(toks) and IDENT.match(toks[i + 1]):
            names.append(toks[i + 1])
    return names


def sources_entries(text):
    return [e for line in text.splitlines() for m in [SOURCES_LINE.match(line)] if m for e in m.group(1).split()]


# ---- Step 1: moves -------------------------------------------------------------------------

def folder_for(name, legacy):
    if name in MAPPING:
        return MAPPING[name]
    if legacy and name in LEGACY:
        return LEGACY[name]
    for prefix, where in RULES:
        if name.startswith(prefix) and not (prefix == "Mcp" and name == "McpDeps.java"):
            return where
    return Error("no entry in MAPPING and no rule in RULES: add it to MAPPING at the top of this tool")


def lib_files(repo):
    return sorted(p for p in (repo.root / "lib").rglob("*.java") if p.is_file())


def plan_moves(repo, legacy):
    errors, moves, seen = [], [], {}
    for p in lib_files(repo):
        if p.name in seen:
            errors.append("%s and %s: two lib files with one name" % (repo.rel(seen[p.name]), repo.rel(p)))
        seen[p.name] = p
        where = folder_for(p.name, legacy)
        if isinstance(where, Error):
            errors.append("%s: %s" % (repo.rel(p), where))
            continue
        if where not in FOLDERS and where not in LEGACY.values():
            errors.append("%s: folder %r is not in FOLDERS" % (repo.rel(p), where))
            continue
        dest = repo.root / "lib" / where / p.name
        if dest != p:
            moves.append((p, dest))
    return errors, moves


# ---- Step 2: lib files pull nothing in -----------------------------------------------------

def strip_lib_sources(repo, p):
    """Drops //SOURCES lines and the comment lines that only introduce them (ending in ':')."""
    lines = read(p).splitlines(keepends=True)
    keep = [True] * len(lines)
    for i, line in enumerate(lines):
        if SOURCES_LINE.match(line):
            keep[i] = False
            j = i - 1
            while j >= 0 and lines[j].startswith("//") and not re.match(r"^//[A-Z]+\b", lines[j]) \
                    and lines[j].rstrip().endswith(":") and keep[j]:
                keep[j] = False
                j -= 1
    text = "".join(l for l, k in zip(lines, keep) if k)
    if text != "".join(lines):
        text = text.lstrip("\n")
    code = tokens(text)
    directives = [l for l in text.splitlines() if re.match(r"^//[A-Z]+\b", l)]
    if not code and not directives:
        repo.delete(p, "it only pulled other files in")
        return None
    repo.write(p, text)
    for d in directives:
        if d.startswith("//DEPS") and p.name not in ("Deps.java", "McpDeps.java"):
            repo.warnings.append("%s pins %s: versions belong in lib/Deps.java or lib/McpDeps.java" % (repo.rel(p), d))
    return p


# ---- Step 2: each front door's closure -----------------------------------------------------

class Lib:
    def __init__(self, repo, files):
        self.root = repo.root
        self.by_name = {}      # type name -> file
        self.refs = {}         # file -> lib files it references
        self.text = {p: read(p) for p in files}
        for p in files:
            for name in top_level_types(self.text[p]):
                if name in self.by_name and self.by_name[name] != p:
                    raise SystemExit("restructure: %s is declared in %s and in %s" % (name, self.by_name[name], p))
                self.by_name[name] = p
        for p in files:
            self.refs[p] = self.references(self.text[p]) - {p}
        self.deps = self.root / "lib" / pinned_path("Deps.java")
        self.mcp_deps = self.root / "lib" / pinned_path("McpDeps.java")

    def references(self, text):
        """The lib files whose types the code names; a single-type import of a library class with
        the same simple name (MINA's Environment, say) hides ours in that file."""
        hidden = set(IMPORTED_TYPE.findall(text))
        return {self.by_name[t] for t in tokens(text) if t in self.by_name and t not in hidden}

    def uses_mcp(self, p, text):
        return p.parent.name == "mcp" or bool(MCP_SDK_IMPORT.search(text))

    def closure(self, start):
        """start and the lib files they reference, transitively."""
        seen, todo = set(), list(start)
        while todo:
            p = todo.pop()
            if p not in seen:
                seen.add(p)
                todo.extend(self.refs[p] - seen)
        return seen


def pinned_path(name):
    """Where MAPPING puts a pin file (Deps.java, McpDeps.java), relative to lib/."""
    return (MAPPING[name] + "/" + name) if MAPPING[name] else name


def is_lib_entry(repo, base, entry):
    target = os.path.normpath(os.path.join(base, entry))
    lib = str(repo.root / "lib")
    return target == lib or target.startswith(lib + os.sep)


def followed_files(repo, p, seen):
    """p and the non-lib files its //SOURCES names, transitively (a test's scripts and helpers)."""
    if p in seen or not p.is_file():
        return
    seen.add(p)
    for entry in sources_entries(read(p)):
        if any(c in entry for c in "*?{"):
            continue
        if not is_lib_entry(repo, str(p.parent), entry):
            followed_files(repo, Path(os.path.normpath(p.parent / entry)), seen)


def sources_lines(paths, base):
    """//SOURCES lines, one group per folder in FOLDERS order, wrapped at LINE_WIDTH."""
    order = list(FOLDERS)
    def key(p):
        folder = p.parent.name if p.parent.name != "lib" else ""
        return (order.index(folder) if folder in order else len(order), folder, p.name != "Deps.java", p.name)
    lines, current, current_folder = [], "", None
    for p in sorted(paths, key=key):
        folder = key(p)[1]
        rel = os.path.relpath(p, base).replace(os.sep, "/")
        if current and (folder != current_folder or len(current) + 1 + len(rel) > LINE_WIDTH):
            lines.append(current)
            current = ""
        current = (current + " " + rel) if current else "//SOURCES " + rel
        current_folder = folder
    if current:
        lines.append(current)
    return lines


def rewrite_front_door(repo, lib, p):
    text = read(p)
    lines = text.splitlines(keepends=True)
    if not any(SOURCES_LINE.match(l) for l in lines):
        return None
    files = set()
    followed_files(repo, p, files)
    texts = {f: read(f) for f in files}
    used = set()
    for f in files:
        used |= lib.references(texts[f])
    closure = lib.closure(used)
    had_deps = any(is_lib_entry(repo, str(f.parent), e) for f in files for e in sources_entries(texts[f]))
    if closure or had_deps:
        closure.add(lib.deps)
    if any(lib.uses_mcp(c, lib.text.get(c, "")) for c in closure) or any(MCP_SDK_IMPORT.search(t) for t in texts.values()):
        closure.add(lib.mcp_deps)
    out, placed = [], False
    for line in lines:
        m = SOURCES_LINE.match(line)
        if not m:
            out.append(line)
            continue
        if not placed:
            out.extend(l + "\n" for l in sources_lines(closure, p.parent))
            placed = True
        others = [e for e in m.group(1).split() if not is_lib_entry(repo, str(p.parent), e)]
        if others:
            out.append("//SOURCES " + " ".join(others) + "\n")
    repo.write(p, "".join(out))
    return closure


# ---- Step 3: other places that name lib paths ----------------------------------------------

GLOB = re.compile(r'lib/("?)\*\.java')
FOLDER_GLOB = re.compile(r'lib/"?\*/\*\.java')
MENTION = re.compile(r"(?<![\w.-])((?:\.\./)*lib/)([A-Z][\w$]*\.java)\b")


def update_mentions(repo, moved_to, lib_names, legacy):
    tracked = [repo.root / f for f in repo.git("ls-files").splitlines()]
    for p in tracked + [repo.root / "jbang"]:
        if not p.is_file() or (p.suffix not in TEXT_SUFFIXES and not is_shell(p)):
            continue
        text = original = read(p)
        if GLOB.search(text) and not FOLDER_GLOB.search(text):
            # One level of folders, spelled out: globstar (**) is not in macOS's bash 3.2.
            text = re.sub(r'(\S*?)lib/("?)\*\.java', r'\1lib/\2*.java \1lib/\2*/*.java', text)

        def place(m):
            name = m.group(2)
            if name in moved_to:
                return m.group(1) + moved_to[name]
            if name not in lib_names:
                repo.warnings.append("%s mentions %s%s, which is no lib file" % (repo.rel(p), m.group(1), name))
            return m.group(0)
        text = MENTION.sub(place, text)
        if text != original:
            repo.write(p, text)
        for i, line in enumerate(text.splitlines(), 1):
            if p.suffix == ".java" and "lib" in line and re.search(r"Files\.list\(|newDirectoryStream\(|listFiles\(", line):
                repo.warnings.append("%s:%d lists lib/ one level deep; its files are in folders now: %s" % (repo.rel(p), i, line.strip()))


def is_shell(p):
    try:
        with open(p, "rb") as f:
            first = f.readline(200)
        return first.startswith(b"#!") and b"sh" in first
    except OSError:
        return False


# ---- main ----------------------------------------------------------------------------------

def count_compiled(repo, p, seen=None):
    """The source files JBang compiles for p: p and its //SOURCES, followed as JBang does."""
    seen = set() if seen is None else seen
    if p in seen or not p.is_file():
        return seen
    seen.add(p)
    for entry in sources_entries(read(p)):
        count_compiled(repo, Path(os.path.normpath(p.parent / entry)), seen)
    return seen


def layers(repo):
    """References from a lower folder to a higher one (FOLDERS order): the arrows that run back up."""
    files = lib_files(repo)
    lib = Lib(repo, files)
    order = list(FOLDERS)
    rank = lambda p: order.index(p.parent.name) if p.parent.name in order else len(order)
    for a in files:
        for b in sorted(lib.refs[a]):
            if rank(b) > rank(a):
                print("%s -> %s" % (repo.rel(a), repo.rel(b)))


def main(argv):
    check = "--check" in argv
    legacy = "--legacy" in argv
    counts = "--counts" in argv
    args = [a for a in argv if not a.startswith("--")]
    root = Path(args[0] if args else ".").resolve()
    if not (root / "lib").is_dir() or not (root / "scripts").is_dir():
        raise SystemExit("restructure: %s has no lib/ and scripts/: give the repository's root" % root)
    repo = Repo(root, check)
    if "--layers" in argv:
        layers(repo)
        return 0
    if counts:
        for d in FRONT_DOORS:
            for p in sorted((root / d).glob("*.java")):
                if sources_entries(read(p)):
                    files = count_compiled(repo, p)
                    print("%-32s %3d files %6d lines" % (repo.rel(p), len(files), sum(len(read(f).splitlines()) for f in files)))
        return 0

    errors, moves = plan_moves(repo, legacy)
    if errors:
        print("restructure: nothing changed; decide where these go first:", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 2
    if check and moves:
        for src, dst in moves:
            repo.changes.append("move %s -> %s" % (repo.rel(src), repo.rel(dst)))
        print("\n".join(repo.changes))
        print("restructure --check: the files are not where MAPPING puts them", file=sys.stderr)
        return 1
    for src, dst in moves:
        repo.move(src, dst)

    kept = [p for p in lib_files(repo) if strip_lib_sources(repo, p) is not None]
    if check:   # nothing was written: scan the texts as they are
        kept = lib_files(repo)
    lib = Lib(repo, kept)
    moved_to = {p.name: p.relative_to(root / "lib").as_posix() for p in kept if p.parent != root / "lib"}
    for d in FRONT_DOORS:
        for p in sorted((root / d).glob("*.java")):
            rewrite_front_door(repo, lib, p)
    update_mentions(repo, moved_to, {p.name for p in kept}, legacy)

    for d in FRONT_DOORS:   # every //SOURCES entry names a file that is there
        for p in sorted((root / d).glob("*.java")):
            for e in sources_entries(read(p)):
                if not any(c in e for c in "*?{") and not (p.parent / e).is_file():
                    repo.warnings.append("%s: //SOURCES %s is not there" % (repo.rel(p), e))
    for c in repo.changes:
        print(c)
    for w in dict.fromkeys(repo.warnings):
        print("warning: " + w, file=sys.stderr)
    if check and repo.changes:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
