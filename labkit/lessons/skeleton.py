"""`labkit new lesson NAME [--dir DIR]`: a lesson folder to start from, written with the public exercise
API (`labkit.exercises`) only.

    NAME/
      solutions/NAME.ipynb   the solved edition: one exercise, NAME.hello, declared in a cell (a check, a
                             reset, three hints, the wrong attempt it refuses, a Lesson), its task cell with
                             the solution between ### BEGIN SOLUTION and ### END SOLUTION, and its check cell
      README.md              the next steps, each one command (STEPS)
      nbval-sanitize.cfg     what differs between runs, made alike before nbval compares (labkit's own)

The exercise sits in a notebook cell, not in a module beside it, so that a notebook a student hands in
runs anywhere (`labkit grade` runs it from its own folder). Nothing is overwritten: a NAME folder that
exists already is refused. Everything is written into a temporary folder inside DIR first, then renamed
into place, so an error leaves nothing half written.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

from ..errors import AlreadyExists, InvalidInput, NotFound

NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
LONGEST = 40

# The next steps, run from the lesson's folder (tests/test_instructor.py runs exactly these).
STEPS = (
    ("Write the students' edition: every solution replaced by `# YOUR CODE HERE`, outputs cleared.",
     "labkit student solutions notebooks"),
    ("Run both editions and store their outputs (what students see first, and what the next step compares). "
     "`LABKIT_CLOCK=still`: the simulator's time passes only when a cell lets it, so every run prints the same.",
     "LABKIT_BACKEND=sim LABKIT_CLOCK=still jupyter nbconvert --to notebook --execute --inplace "
     "solutions/*.ipynb notebooks/*.ipynb"),
    ("Run both again under nbval, every output compared: in `solutions/` every check passes, in `notebooks/` "
     "none does yet.",
     "LABKIT_BACKEND=sim LABKIT_CLOCK=still python -m pytest --nbval --nbval-sanitize-with nbval-sanitize.cfg "
     "-p no:cacheprovider solutions notebooks"),
    ("Grade what students hand in: each notebook runs in its own kernel, on the simulator; "
     "`results/results.html` tables every exercise: passed, or not yet and what its check said.",
     "labkit grade handed-in/*.ipynb --out results"),
)

SANITIZE = """\
# Outputs that genuinely vary between runs, made alike before nbval compares them.
# The simulator's API server listens on minikube's port 8443 when it is free, on another otherwise.
[served-api-port]
regex: https://127\\.0\\.0\\.1:\\d+
replace: https://127.0.0.1:PORT
# The simulator's Docker Engine listens on a socket in a fresh private folder of each kernel.
[served-engine-socket]
regex: unix://\\S*/engine-[\\w-]+/docker\\.sock
replace: unix:///ENGINE/docker.sock
# %%writefile says Overwriting where an earlier run left the file (a student's stack.yml).
[writefile]
regex: (Writing|Overwriting) (\\S+)
replace: Writing \\2
"""

INTRO = """\
# {title}

Lesson `{name}`, made by `labkit new lesson {name}`. This is its solved edition: change the exercise below into
yours (`help(labkit.exercises)` documents the API it is written with), then follow README.md's steps.
`labkit student solutions notebooks` writes what students open: each solution between `### BEGIN SOLUTION` and
`### END SOLUTION` becomes `# YOUR CODE HERE`."""

SETUP = """\
import labkit as lk
from labkit import exercises
from labkit.exercises import Exercise, Lesson, delete_workload, praise, workload_problems

cluster = lk.connect(nodes=3)                    # $LABKIT_BACKEND, else labkit's simulator"""

DECLARE_TEXT = """\
## The exercise

Its check looks only at the cluster (what runs), never at the student's code, so any right way passes. It returns
the problems it sees, in the student's words; an empty list means passed. Its reset puts the cluster back where the
exercise starts, so that the exercise's cell can run again. Its hints come one at a time (`lab.hint`): a nudge, the
command, the solution. This cell is in the students' edition too, so that a notebook handed in runs anywhere; to
keep the hints out of sight until asked for, declare the lesson in a module of yours instead
(`Lesson(..., helpers=__name__)`), as labkit's own lessons do."""

DECLARE = """\
@praise("You asked for two copies and the cluster made them.")
def check_hello(cluster) -> list[str]:
    return workload_problems(cluster.state(), "hello", 2, image="web-server:1")


def reset_hello(cluster) -> str:
    return "deleted hello" if delete_workload(cluster, "hello") else "there was no hello yet: nothing to undo"


Lesson({name}, title={title}, exercises=[
    Exercise("hello", "deploy `hello` (image web-server:1) with 2 replicas and wait until both run",
             hints=("a deployment makes the replicas: its name, its image and how many are all in the task; "
                    "then let the cluster work until they run",
                    "cluster.deploy(...) with image=... and replicas=..., then cluster.wait()",
                    "cluster.deploy('hello', image='web-server:1', replicas=2); cluster.wait()"),
             check=check_hello, wrong="one replica, or another image", reset=reset_hello),
])
lab = exercises.lab({name})"""

TASK_TEXT = """\
### Exercise {name}.hello

Deploy **`hello`** (image `web-server:1`) with **2 replicas** on `cluster`, and wait until both run. Then run the
check under it. Stuck? `lab.hint("{name}.hello")` shows a hint; call it again for the next."""

TASK = """\
# Exercise {name}.hello: your turn.
lab.reset("hello", cluster)                      # no hello yet: run this cell as often as you like
### BEGIN SOLUTION
hello = cluster.deploy("hello", image="web-server:1", replicas=2)
cluster.wait()
print(hello)
### END SOLUTION"""

CHECK = 'lab.check("hello", cluster)'


def readme(name: str, title: str) -> str:
    """README.md: what the folder holds and the next steps, one command each."""
    steps = "\n\n".join(textwrap.fill(f"{n}. {why}", 110, subsequent_indent="   ") + f"\n\n       {command}"
                        for n, (why, command) in enumerate(STEPS, 1))
    return f"""# {title}

A lesson made by `labkit new lesson {name}`. `solutions/{name}.ipynb` is its solved edition: one exercise,
`{name}.hello`, declared in a cell with labkit's public exercise API (`labkit.exercises`; in Python,
`help(labkit.exercises)` shows its documentation), and solved between `### BEGIN SOLUTION` and
`### END SOLUTION`. Change it into your own lesson; add exercises to its `Lesson(...)`. Then, in this folder:

{steps}
"""


def notebook(name: str, title: str) -> str:
    """The solved edition's notebook (nbformat 4 JSON)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    quoted = {"name": name, "title": title}
    code = {"name": json.dumps(name), "title": json.dumps(title)}  # Python string literals, for the code
    cells = [new_markdown_cell(INTRO.format(**quoted)), new_code_cell(SETUP),
             new_markdown_cell(DECLARE_TEXT), new_code_cell(DECLARE.format(**code)),
             new_markdown_cell(TASK_TEXT.format(**quoted)), new_code_cell(TASK.format(**quoted)),
             new_code_cell(CHECK, metadata={"tags": ["nbval-check-output"]})]  # compared even under --nbval-lax
    book = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    return nbformat.writes(book) + "\n"


def check_name(name: str) -> None:
    if len(name) > LONGEST or not NAME.fullmatch(name):
        raise InvalidInput(f"{name!r} cannot name a lesson",
                           f"use lowercase letters, digits and single hyphens, starting with a letter, at most "
                           f"{LONGEST} (e.g. intro, pod-basics)")


def new_lesson(name: str, where: Path | str = ".") -> list[Path]:
    """Write lesson `name`'s folder into `where` (see the module's docstring): the files written.
    Raises InvalidInput (a bad name), NotFound (no folder `where`) or AlreadyExists (`where/name`
    exists), before anything is written."""
    check_name(name)
    where = Path(where)
    if not where.is_dir():
        raise NotFound(f"no folder {str(where)!r} to make the lesson in", "make it first, or leave --dir out")
    target = where / name
    if target.exists() or target.is_symlink():
        raise AlreadyExists(f"{str(target)!r} exists already: labkit new overwrites nothing",
                            "choose another name, or move that folder away")
    title = name.replace("-", " ").capitalize()
    files = {Path("solutions") / f"{name}.ipynb": notebook(name, title), Path("README.md"): readme(name, title),
             Path("nbval-sanitize.cfg"): SANITIZE}
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".new", dir=where))
    try:
        for path, text in files.items():
            (scratch / path).parent.mkdir(parents=True, exist_ok=True)
            (scratch / path).write_text(text, encoding="utf-8")
        os.chmod(scratch, 0o777 & ~_umask())  # mkdtemp's folder is private: give it a folder's usual mode
        os.rename(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return [target / path for path in files]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def main(kind: str, name: str, where: str) -> int:
    """`labkit new lesson NAME [--dir DIR]`: the files written and the next steps, or one error and its hint."""
    try:
        written = new_lesson(name, where)
    except (InvalidInput, NotFound, AlreadyExists) as error:
        print(f"labkit new {kind}: {error.message}\n  {error.hint}", file=sys.stderr)
        return 1
    except ImportError as error:  # nbformat comes with Jupyter
        print(f"labkit new {kind}: {error}\n  pip install 'labkit[lab]'", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(f"next, in {Path(where) / name}:")
    for _, command in STEPS:
        print(f"  {command}")
    return 0
