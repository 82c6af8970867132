"""Runs the composite action in action.yml as a GitHub runner would, for .ci/check-action.

What a runner does for a composite action, and only that: each step's `${{ }}` expressions
(inputs, github.*, steps.<id>.outputs.*) are evaluated, its `env:` set, its `run:` written to a
file and started with `bash --noprofile --norc -eo pipefail FILE` (the runner's `shell: bash`);
GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY are files it reads back after
the step (outputs for later steps, environment and PATH for later steps); the action's
`outputs:` are evaluated at the end. Docs:
https://docs.github.com/en/actions/reference/workflows-and-actions/metadata-syntax
https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands
"""

import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def read_kv(path):
    """A GITHUB_OUTPUT / GITHUB_ENV file: `name=value` lines and `name<<DELIM` blocks."""
    values = {}
    if not os.path.exists(path):
        return values
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body = []
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            i += 1
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values


class Runner:
    def __init__(self, action_dir, inputs, env, workdir):
        self.action_dir = action_dir
        self.action = yaml.safe_load(open(os.path.join(action_dir, "action.yml"), encoding="utf-8"))
        declared = self.action.get("inputs", {})
        unknown = set(inputs) - set(declared)
        if unknown:
            raise SystemExit(f"inputs not declared in action.yml: {sorted(unknown)}")
        self.inputs = {k: str(v.get("default", "")) for k, v in declared.items()}
        self.inputs.update(inputs)
        self.env = dict(env)
        self.workdir = workdir
        self.steps = {}
        self.path_prepend = []
        self.summary = os.path.join(workdir, "step_summary.md")
        open(self.summary, "w").close()
        self.github = {
            "action_path": action_dir,
            "action_repository": env.get("TEST_ACTION_REPOSITORY", ""),
            "action_ref": env.get("TEST_ACTION_REF", ""),
        }

    def expr(self, text):
        def one(m):
            e = m.group(1)
            parts = e.split(".")
            if parts[0] == "inputs" and len(parts) == 2:
                return self.inputs[parts[1]]
            if parts[0] == "github" and len(parts) == 2:
                return self.github[parts[1]]
            if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
                return self.steps.get(parts[1], {}).get(parts[3], "")
            raise SystemExit(f"expression this runner does not evaluate: {e}")

        return EXPR.sub(one, str(text))

    def run(self):
        """Runs every step; returns (the action's outputs, the exit status of the failed step or 0)."""
        for n, step in enumerate(self.action["runs"]["steps"]):
            if step.get("shell") != "bash" or "run" not in step:
                raise SystemExit(f"step {n}: only `run` steps with `shell: bash` are run here")
            files = {k: os.path.join(self.workdir, f"{k}-{n}") for k in ("output", "env", "path")}
            for f in files.values():
                open(f, "w").close()
            script = os.path.join(self.workdir, f"step-{n}.sh")
            with open(script, "w", encoding="utf-8") as f:
                f.write(self.expr(step["run"]))
            env = dict(self.env)
            env.update({k: self.expr(v) for k, v in step.get("env", {}).items()})
            env.update(
                GITHUB_OUTPUT=files["output"],
                GITHUB_ENV=files["env"],
                GITHUB_PATH=files["path"],
                GITHUB_STEP_SUMMARY=self.summary,
                GITHUB_ACTIONS="true",
                GITHUB_ACTION_PATH=self.action_dir,
            )
            env["PATH"] = os.pathsep.join(self.path_prepend + [env.get("PATH", "")])
            print(f"--- step {step.get('id', n)}: {step.get('name', '')}", flush=True)
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
                env=env,
                cwd=self.workdir,
                timeout=300,
            )
            if "id" in step:
                self.steps[step["id"]] = read_kv(files["output"])
            self.env.update(read_kv(files["env"]))
            added = [p for p in open(files["path"], encoding="utf-8").read().split("\n") if p]
            self.path_prepend = list(reversed(added)) + self.path_prepend
            if done.returncode != 0:
                return self.outputs(), done.returncode
        return self.outputs(), 0

    def outputs(self):
        return {k: self.expr(v["value"]) for k, v in self.action.get("outputs", {}).items()}


def main():
    """`action_runner.py ACTION_DIR WORKDIR [input=value]...`: prints the outputs and the job
    environment it left as JSON (for the shell test), exits with the failed step's status."""
    import json

    action_dir, workdir = sys.argv[1], sys.argv[2]
    inputs = dict(a.split("=", 1) for a in sys.argv[3:])
    # Multi-line inputs (a PEM key) come from files: `private-key=@/path`.
    inputs = {k: open(v[1:], encoding="utf-8").read() if v.startswith("@") else v for k, v in inputs.items()}
    os.makedirs(workdir, exist_ok=True)
    runner = Runner(action_dir, inputs, os.environ, tempfile.mkdtemp(dir=workdir))
    outputs, status = runner.run()
    result = {
        "outputs": outputs,
        "env": {k: v for k, v in runner.env.items() if k not in os.environ},
        "path": runner.path_prepend,
        "summary": open(runner.summary, encoding="utf-8").read(),
        "status": status,
    }
    with open(os.path.join(workdir, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    sys.exit(status)


if __name__ == "__main__":
    main()
