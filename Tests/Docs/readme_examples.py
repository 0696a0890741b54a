#!/usr/bin/env python3
"""Runs every shell example in README.md that talks to a server against a throwaway one, so the README cannot
drift from what the server does (issue 15). usage: readme_examples.py BINARY   (make test runs it)

A command is a line of a ```sh block (with its `\\` continuations and `|` lines) that mentions localhost:5000.
It runs under bash in a scratch directory (holding a copy of rules/), against a server on a free port with the
sample data. It must exit 0 and print something; an HTTP answer must be 2xx; JSON must not be an error; jq must
not print null (a field the README names that the server does not have). A `# {…}` comment on the line or the
next shows the answer: the real one must have the same shape (the same keys, the same kinds of values).
Examples that use $ADMIN_KEY run against a second server that needs keys (AUTH=required), with ADMIN_KEY set to
an admin key made by `urgencyiq keys create`, so that they neither need nor change the first server's open mode."""
import json, os, re, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Benchmarks"))
from local_server import free_port, wait_for_health  # noqa: E402

binary = os.path.abspath(sys.argv[1])
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def commands(readme):
    """(line number, command, shown JSON or None) for each example that talks to localhost:5000."""
    found, block, lines = [], False, readme.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("```"):
            block = (not block) and line[3:].strip() in ("sh", "bash", "shell")
            index += 1
            continue
        if block and line.strip() and not line.lstrip().startswith("#"):
            start, command = index + 1, line
            while command.rstrip().endswith("\\") or (index + 1 < len(lines) and lines[index + 1].lstrip().startswith("|")):
                index += 1
                command = command.rstrip().rstrip("\\") + " " + lines[index].strip()
            shown = None
            comment = re.search(r"\s#\s*(\{.*\})\s*$", command)
            if comment:
                shown, command = comment.group(1), command[:comment.start()]
            elif index + 1 < len(lines) and re.match(r"\s*#\s*\{", lines[index + 1]):
                shown = lines[index + 1].split("#", 1)[1].strip()
            command = re.sub(r"\s+#\s[^'\"]*$", "", command)  # a trailing explanation
            if "localhost:5000" in command and "curl" in command:
                found.append((start, command, shown))
        index += 1
    return found


def shape(value):
    """Keys and kinds, not values: {"id": 3} and {"id": 7} have the same shape."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def main():
    for tool in ("curl", "jq"):
        if not shutil.which(tool):
            raise SystemExit(f"readme_examples: {tool} is not installed (make test installs it)")
    work = tempfile.mkdtemp(prefix="uiq-readme-")
    shutil.copytree(os.path.join(root, "rules"), os.path.join(work, "rules"))
    subprocess.run([binary, "import", os.path.join(root, "data/sample_messages.csv"), "--db", f"{work}/readme.db",
                    "--env-file", "/nonexistent"], check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--db", f"{work}/readme.db", "--rules", f"{work}/rules",
                               "--log-format", "off", "--env-file", "/nonexistent"], cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    admin_key = subprocess.run([binary, "keys", "create", "--name", "readme-admin", "--role", "admin", "--db", f"{work}/keyed.db",
                                "--env-file", "/nonexistent"], check=True, capture_output=True, text=True).stdout.strip()
    keyed_port = free_port()
    keyed = subprocess.Popen([binary, "serve", "--port", str(keyed_port), "--db", f"{work}/keyed.db", "--rules", f"{work}/rules",
                              "--log-format", "off", "--env-file", "/nonexistent"], cwd=root, env={**os.environ, "AUTH": "required"},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failures = []
    try:
        wait_for_health(port, who="readme_examples: the server")
        wait_for_health(keyed_port, who="readme_examples: the server that needs keys")
        examples = commands(open(os.path.join(root, "README.md"), encoding="utf-8").read())
        if len(examples) < 5:
            failures.append(f"only {len(examples)} examples found: is the README's format what this script reads?")
        for line, command, shown in examples:
            keys = "$ADMIN_KEY" in command
            run = command.replace("localhost:5000", f"localhost:{keyed_port if keys else port}")
            result = subprocess.run(["bash", "-o", "pipefail", "-c", run], cwd=work, capture_output=True, text=True, timeout=60,
                                    env={**os.environ, "ADMIN_KEY": admin_key})
            where = f"README.md:{line}: {command.strip()}"
            output = result.stdout.strip()
            if result.returncode != 0:
                failures.append(f"{where}\n  exit status {result.returncode}: {result.stderr.strip()}")
                continue
            if not output and ">" not in command:
                failures.append(f"{where}\n  printed nothing")
                continue
            status = re.match(r"HTTP/1\.1 (\d+)", output)
            if status and not status.group(1).startswith("2"):
                failures.append(f"{where}\n  answered {status.group(1)}")
            if "jq" in command and any(part == "null" for part in output.split()):
                failures.append(f"{where}\n  jq printed null: a field the README names is missing\n  {output[:300]}")
            body = output.split("\r\n\r\n", 1)[-1] if status else output
            try:
                answer = json.loads(body)
            except ValueError:
                answer = None
            if isinstance(answer, dict) and answer.get("error"):
                failures.append(f"{where}\n  an error: {answer['error']}")
            if shown is not None:
                expected = json.loads(shown)
                if answer is None or shape(answer) != shape(expected):
                    failures.append(f"{where}\n  the README shows {shown}\n  the server answered {body[:300]}")
            print(f"ok  README.md:{line}")
    finally:
        for process in (server, keyed):
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("\n".join(["", "README examples that do not hold:"] + failures), file=sys.stderr)
        raise SystemExit(1)
    print(f"readme_examples: {len(examples)} examples hold")


main()
