#!/usr/bin/env python3
"""Writes the man page cairn(1) from the binary's own --help texts (one source: STYLE.md §8).

    manpage.py BINARY OUT.1 [DATE]

Sections: the global options and commands of `cairn --help`, every key of `cairn server --help`
(which the YAML file and the CAIRN_<KEY> variables take too), ENVIRONMENT, FILES, SEE ALSO."""
import re
import subprocess
import sys


def roff(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text[:1] in (".", "'"):
        text = "\\&" + text
    return text


def sections(help_text):
    """CLI11 help: {'Options': [(flag, description)], 'Subcommands': [...]}, plus the footer."""
    out, current, footer = {}, None, []
    for line in help_text.splitlines():
        if re.match(r"^[A-Z][A-Za-z ]*:$", line):
            current = out.setdefault(line[:-1], [])
            continue
        if current is None or not line.strip():
            if current is not None and not line.strip():
                current = None if out else current
            continue
        if line.startswith("  ") and not line.startswith("   "):
            # "  --flag TYPE=default   description" (the description may follow on the next line)
            parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
            current.append([parts[0], parts[1] if len(parts) > 1 else ""])
        elif current:
            current[-1][1] = (current[-1][1] + " " + line.strip()).strip()
    # The footer: the text after the last section.
    tail = help_text.rstrip().split("\n\n")
    if tail and not tail[-1].startswith(" ") and ":" not in tail[-1].splitlines()[0][-1:]:
        footer = [tail[-1].strip()]
    return out, footer


def items(entries):
    lines = []
    for flag, description in entries:
        lines += [".TP", "\\fB" + roff(flag) + "\\fR", roff(description)]
    return lines


def main():
    binary, out = sys.argv[1], sys.argv[2]
    date = sys.argv[3] if len(sys.argv) > 3 else ""
    run = lambda *a: subprocess.run([binary, *a], capture_output=True, text=True, check=True).stdout
    version = run("--version").split()[-1]
    top, _ = sections(run("--help"))
    server, server_footer = sections(run("server", "--help"))
    page = [
        '.TH CAIRN 1 "%s" "cairn %s" "User Commands"' % (date, version),
        ".SH NAME",
        "cairn \\- distributed configuration center: server and command-line client",
        ".SH SYNOPSIS",
        "\\fBcairn server\\fR [\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fIOPTIONS\\fR]",
        ".br",
        "\\fBcairn\\fR [\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]",
        ".SH DESCRIPTION",
        "Cairn stores versioned JSON configuration in namespaces, replicates it with Raft across",
        "a cluster of nodes and pushes changes to watching clients.",
        "\\fBcairn server\\fR runs one node; every other command is a client of the HTTP API.",
        "Each command prints its own options with \\fBcairn\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR.",
        ".SH COMMANDS",
        *items(top.get("Subcommands", [])),
        ".SH GLOBAL OPTIONS",
        *items(top.get("Options", [])),
        ".SH SERVER OPTIONS",
        "Each option of \\fBcairn server\\fR is also a key of the YAML file given by",
        "\\fB\\-\\-config\\fR (the name with underscores: \\fB\\-\\-listen\\-http\\fR is",
        "\\fBlisten_http\\fR) and an environment variable (\\fBCAIRN_LISTEN_HTTP\\fR).",
        *items(server.get("Options", [])),
        ".SH ENVIRONMENT",
        *[roff(t) for t in server_footer],
        ".TP",
        "\\fBCAIRN_CONFIG\\fR",
        "The YAML file of \\fBcairn server\\fR when \\fB\\-\\-config\\fR is not given.",
        ".TP",
        "\\fBCAIRN_ROOT_TOKEN\\fR",
        "With auth_enabled, the root token (else the file root\\-token in the data directory).",
        ".TP",
        "\\fBCAIRN_SECRET_KEY\\fR",
        "Key\\-encryption keys of secret values when secret_key_file is not set.",
        ".TP",
        "\\fBCAIRN_ENDPOINTS\\fR, \\fBCAIRN_TOKEN\\fR, \\fBCAIRN_OPERATOR\\fR",
        "Defaults of the client commands' \\fB\\-\\-endpoints\\fR, \\fB\\-\\-token\\fR and",
        "\\fB\\-\\-operator\\fR.",
        ".SH FILES",
        ".TP",
        "\\fI/etc/cairn/cairn.yaml\\fR",
        "The packaged configuration (one node, API on 127.0.0.1:8080).",
        ".TP",
        "\\fI/var/lib/cairn\\fR",
        "The data directory: cairn.db, wal/, snap/. Kept on upgrade and removal, deleted on purge.",
        ".TP",
        "\\fI/lib/systemd/system/cairn.service\\fR",
        "The systemd unit (user cairn): \\fBsystemctl status cairn\\fR.",
        ".SH SEE ALSO",
        "The documentation in the source tree: docs/install.md, docs/cluster.md, docs/api.md.",
    ]
    with open(out, "w") as f:
        f.write("\n".join(page) + "\n")


if __name__ == "__main__":
    main()
