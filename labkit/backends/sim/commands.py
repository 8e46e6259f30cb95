"""What a command run by a simulated container does: the container's own process (`exec_argv`),
a shell (`sh -c`, `bash script.sh`), the image's own programs (nginx, redis-server, postgres...:
their start-up lines from labkit/catalog.py, then they serve, exit or refuse) and the shell's
built-ins (echo, printf, sleep, env, date, cat, test, exit, set...)."""
from __future__ import annotations

import math
import re
import shlex
from typing import NoReturn

from ... import catalog
from .interpreter import Break, Exit, Forever, Interpreter


class Commands(Interpreter):
    """The interpreter, with the commands it knows: a built-in is the method `cmd_` + its name."""

    # -- argv: the container's process
    def exec_argv(self, argv: list[str]) -> int:
        if not argv:
            self.honest("a container with no command (its image has none)")
        program = argv[0].rsplit("/", 1)[-1]
        image = self.ctx.image
        if image is not None and program in image.programs and program not in catalog.SHELLS:
            return self.image_program(program, image.programs[program], argv[1:])
        if program in catalog.SHELLS:
            return self.shell(argv)
        return self.command(argv, text=shlex.join(argv))

    def shell(self, argv: list[str]) -> int:
        args = argv[1:]
        flags = []
        while args and args[0].startswith("-") and args[0] != "-c":
            flags.append(args.pop(0))
        if "-e" in flags:
            self.errexit = True
        if "-x" in flags:
            self.xtrace = True
        if not args:
            self.read_stdin()
        if args[0] == "-c":
            if len(args) < 2:
                self.say(f"{argv[0].rsplit('/', 1)[-1]}: -c requires an argument")
                raise Exit(2)
            self.positional = args[2:]
            return self.script(args[1])
        path = args[0]
        if path in self.files:
            self.positional = args[:]
            return self.script(self.files[path])
        self.say(f"{argv[0].rsplit('/', 1)[-1]}: can't open '{path}': No such file or directory"
                 if self.busybox else f"{argv[0]}: {path}: No such file or directory")
        raise Exit(127 if not self.busybox else 2)

    def read_stdin(self) -> NoReturn:
        """A shell or a REPL with nothing to run reads its stdin: an open one it waits on (kubectl
        attach would type into it); without one (no terminal) it reads EOF at once and exits 0
        (kubectl run bb --image=busybox)."""
        if self.ctx.stdin:
            raise Forever()
        raise Exit(0)

    def nested_shell(self, argv: list[str]) -> int:
        positional, errexit = self.positional, self.errexit
        try:
            return self.shell(argv)
        except Exit as done:
            return done.code
        finally:
            self.positional, self.errexit = positional, errexit

    def image_program(self, name: str, program: catalog.Program, args: list[str]) -> int:
        """One of the image's own programs (labkit/catalog.py): its lines, then it serves, exits or,
        an entrypoint script, runs its arguments."""
        if program.repl:
            if args:
                self.honest(f"{name} with arguments ({shlex.join([name, *args])!r})")
            self.read_stdin()
        if program.wraps is not None and args and args[0].rsplit("/", 1)[-1] not in program.wraps:
            return self.exec_argv(args)  # exec "$@", without a word
        for line in program.lines:
            self.say(self.fill(line))
        if program.needs and not any(self.vars.get(v) for v in program.needs):
            for line in program.refusal:
                self.say(self.fill(line))
            raise Exit(1)
        if program.wraps is not None:
            if args:
                return self.exec_argv(args)
            raise Exit(0)
        if program.exit is not None:
            raise Exit(program.exit)
        self.listens = self.t + program.listens_after
        if program.fails_after is not None:
            self.fails = self.t + program.fails_after
        raise Forever()  # a server: it serves until it is stopped

    def fill(self, line: str) -> str:
        ctx = self.ctx
        return catalog.fill(line, self.wall(self.t), version=ctx.version, hostname=ctx.hostname, ip=ctx.ip,
                           port=ctx.image.port if ctx.image else "", major=ctx.version.split(".")[0])

    # -- the commands
    def command(self, argv: list[str], text: str) -> int:
        name = argv[0].rsplit("/", 1)[-1] if argv[0].startswith("/") else argv[0]
        args = argv[1:]
        handler = getattr(self, "cmd_" + name, None) if re.fullmatch(r"[a-z]+", name) else None
        if name in (":", "true"):
            return 0
        if name == "[":
            return self.cmd_test(args[:-1] if args[-1:] == ["]"] else args)
        if handler is not None:
            return handler(args)
        image = self.ctx.image
        program = name.rsplit("/", 1)[-1]
        if program in catalog.SHELLS:
            return self.nested_shell(argv)
        if image is not None and program in image.programs:
            return self.image_program(program, image.programs[program], args)
        self.honest(f"{text!r}")
        return 0

    def cmd_echo(self, args: list[str]) -> int:
        newline, escapes = True, False
        while args and args[0] in ("-n", "-e", "-E", "-ne", "-en"):
            newline = newline and "n" not in args[0]
            escapes = "e" in args[0]
            args = args[1:]
        text = " ".join(args)
        if escapes:
            text = text.replace("\\n", "\n").replace("\\t", "\t")
        self.emit(text, newline)
        return 0

    def cmd_printf(self, args: list[str]) -> int:
        if not args:
            self.say("printf: usage: printf FORMAT [ARGUMENT]...")
            return 2
        fmt, values = args[0], args[1:]
        count = max(fmt.count("%s") + fmt.count("%d"), 1)
        out = ""
        while True:
            chunk, taken = values[:count], values[count:]
            piece = re.sub(r"%[sd]", lambda m, it=iter(chunk): next(it, ""), fmt.replace("%%", "\0"))
            out += piece.replace("\0", "%")
            values = taken
            if not values:
                break
        out = out.replace("\\n", "\n").replace("\\t", "\t")
        lines = out.split("\n")
        for line in lines[:-1]:
            self.emit(line)
        if lines[-1]:
            self.emit(lines[-1], newline=False)
        return 0

    def cmd_sleep(self, args: list[str]) -> int:
        total = 0.0
        for arg in args or ["?"]:
            if arg == "infinity":
                self.sleep(math.inf)
            m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)([smhd]?)", arg)
            if not m:
                self.say(f"sleep: invalid number '{arg}'")
                return 1
            total += float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        self.sleep(total)
        return 0

    def cmd_printenv(self, args: list[str]) -> int:
        if not args:
            return self.cmd_env([])
        found = [self.vars[a] for a in args if a in self.vars]
        for value in found:
            self.say(value)
        return 0 if len(found) == len(args) else 1

    def cmd_env(self, args: list[str]) -> int:
        if args:
            self.honest(f"env with arguments ({shlex.join(['env', *args])!r})")
        for key, value in self.vars.items():
            if key in self.ctx.env or key in self.exported:
                self.say(f"{key}={value}")
        return 0

    def cmd_export(self, args: list[str]) -> int:
        for arg in args:
            name, eq, value = arg.partition("=")
            if eq:
                self.vars[name] = value
            self.exported.add(name)
        return 0

    def cmd_date(self, args: list[str]) -> int:
        when = self.wall(self.t)
        fmt = next((a[1:] for a in args if a.startswith("+")), None)
        if any(not a.startswith("+") and a not in ("-u", "--utc") for a in args):
            self.honest(f"date with {shlex.join(args)!r}")
        self.say(when.strftime(fmt) if fmt is not None else
                   when.strftime("%a %b ") + f"{when.day:2d}" + when.strftime(" %H:%M:%S UTC %Y"))
        return 0

    def cmd_hostname(self, args: list[str]) -> int:
        if args and args != ["-s"]:
            self.honest(f"hostname {shlex.join(args)!r}")
        self.say(self.ctx.hostname)
        return 0

    def cmd_cat(self, args: list[str]) -> int:
        status = 0
        if not args:
            return 0  # stdin is empty
        for path in args:
            if path in self.files:
                content = self.files[path]
                for line in (content[:-1] if content.endswith("\n") else content).split("\n"):
                    self.say(line)
            elif path in ("/etc/hostname",):
                self.say(self.ctx.hostname)
            else:
                self.say(f"cat: can't open '{path}': No such file or directory" if self.busybox
                           else f"cat: {path}: No such file or directory")
                status = 1
        return status

    def cmd_touch(self, args: list[str]) -> int:
        for path in (a for a in args if not a.startswith("-")):
            self.write_file(path, self.files.get(path, ""))
        return 0

    def cmd_rm(self, args: list[str]) -> int:
        force = any(a.startswith("-") and "f" in a for a in args)
        status = 0
        for path in (a for a in args if not a.startswith("-")):
            if path in self.files:
                self.write_file(path, None)
            elif not force:
                self.say(f"rm: can't remove '{path}': No such file or directory" if self.busybox
                         else f"rm: cannot remove '{path}': No such file or directory")
                status = 1
        return status

    def cmd_mkdir(self, args: list[str]) -> int:
        return 0  # folders are implied by the files' paths

    def cmd_exit(self, args: list[str]) -> int:
        code = self.status or 0
        if args:
            if not args[0].lstrip("-").isdigit():
                self.say(f"sh: exit: Illegal number: {args[0]}" if self.busybox
                           else f"bash: exit: {args[0]}: numeric argument required")
                code = 2
            else:
                code = int(args[0])
        raise Exit(code)

    def cmd_false(self, args: list[str]) -> int:
        return 1

    def cmd_break(self, args: list[str]) -> int:
        raise Break()

    def cmd_exec(self, args: list[str]) -> int:
        if not args:
            return 0
        raise Exit(self.exec_argv(args) or 0)

    def cmd_set(self, args: list[str]) -> int:
        for arg in args:
            if arg.startswith("-"):
                self.errexit |= "e" in arg
                self.xtrace |= "x" in arg
            elif arg.startswith("+"):
                self.errexit &= "e" not in arg
                self.xtrace &= "x" not in arg
        return 0

    def cmd_tail(self, args: list[str]) -> int:
        if "-f" in args and args[-1] == "/dev/null":
            raise Forever()
        self.honest(f"tail {shlex.join(args)!r}")
        return 0

    def cmd_test(self, args: list[str]) -> int:
        def truth(args: list[str]) -> bool:
            if args[:1] == ["!"]:
                return not truth(args[1:])
            if len(args) == 0:
                return False
            if len(args) == 1:
                return args[0] != ""
            if len(args) == 2:
                op, value = args
                if op == "-z":
                    return value == ""
                if op == "-n":
                    return value != ""
                if op in ("-f", "-e", "-r", "-s"):
                    return value in self.files and (op != "-s" or bool(self.files[value]))
                if op == "-d":
                    return any(p.startswith(value.rstrip("/") + "/") for p in self.files)
            if len(args) == 3:
                a, op, b = args
                if op in ("=", "=="):
                    return a == b
                if op == "!=":
                    return a != b
                ops = {"-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__, "-le": int.__le__,
                       "-gt": int.__gt__, "-ge": int.__ge__}
                if op in ops:
                    try:
                        return ops[op](int(a), int(b))
                    except ValueError:
                        raise Exit(2) from None
            self.honest(f"the test [ {' '.join(args)} ]")
            return False
        return 0 if truth(args) else 1

    def cmd_pwd(self, args: list[str]) -> int:
        self.say("/")
        return 0

    def cmd_whoami(self, args: list[str]) -> int:
        self.say("root")
        return 0

