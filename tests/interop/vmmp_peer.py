#!/usr/bin/env python3
"""An independent VMMP 1.0 peer: talks to a Virtuoso agent's VMMP port and checks every answer.

Written only from the wire format of design section 6.1 (report section 7.2.1), as a second reading of the
grammar that shares no code with the C# parser in src/Virtuoso.Contracts/Vmmp. Standard library only.

    python3 tests/interop/vmmp_peer.py HOST PORT [--expect-methods SCP,RSYNC,DEDUP] [--timeout SECONDS] [--secret-file FILE]

It runs a scripted conversation (QUERY, REQs that no front-end announced, malformed and misdirected lines, each
followed by a fresh QUERY), prints one JSON line with the results and exits 0 when every answer was right,
1 when any answer was wrong, 2 when the agent could not be reached at all or the arguments were wrong.

The grammar, as design section 6.1 states it: one ASCII line per message over TCP, fields separated by single
spaces:

    <VMMP 1.0 QUERY MACHINE_ID METHODS>
    <VMMP 1.0 RESULTS MACHINE_ID N_METHODS METHOD_1 ... METHOD_N>
    <VMMP 1.0 REQ MACHINE_ID VERSION ORIG_IP ORIG_PORT CENTRAL_IP CENTRAL_PORT METHOD>
    <VMMP 1.0 HEARTBEAT MACHINE_ID>
    <VMMP 1.0 RESP MACHINE_ID VERSION' SUCCESS|FAIL>

"A peer that receives a malformed line, an unknown version or an unknown method answers with a FAIL (or closes),
never crashes, and changes nothing." Machine ids are the machines' global 128-bit ids (design section 3),
written here as UUIDs; the methods are those of design section 6.3.

Authentication rides beside the grammar (design section 6.1, issue 20): a line "AUTH <64 hex digits>" right before a
message proves it, the digits being HMAC-SHA256 keyed by the host's secret over "VMMP-AUTH\n" followed by the message
line (without its line end). With --secret-file the peer proves each well-formed QUERY and REQ it sends that way, as the
front-end does, and also checks that a QUERY without proof gets no RESULTS; the malformed lines go unproven.
"""

import argparse
import hashlib
import hmac
import json
import re
import socket
import sys
import threading
import time
import uuid

VERSION_FIELD = "1.0"
KNOWN_METHODS = ("SCP", "RSYNC", "DEDUP", "LIVE")  # design section 6.3
MAX_ANSWER_BYTES = 4096  # an answer longer than this is not a line of this grammar (32 methods fit many times over)

_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PRINTABLE_FIELD = re.compile(r"^[\x21-\x7e]+$")  # ASCII without spaces and control characters


class Mismatch(Exception):
    """An answer that the grammar (or the semantics of design section 6.1) does not allow."""


# ---------------------------------------------------------------------------------------------------------------
# Reading answers strictly.


def parse_answer(line):
    """Parses one answer line (without its line ending) into a dict, or raises Mismatch saying what is wrong."""
    if not line.startswith("<") or not line.endswith(">"):
        raise Mismatch("not framed as <...>")
    inner = line[1:-1]
    if "<" in inner or ">" in inner:
        raise Mismatch("'<' or '>' inside the frame")
    fields = inner.split(" ")
    if any(f == "" for f in fields):
        raise Mismatch("fields not separated by single spaces (empty field, or a leading or trailing space)")
    for f in fields:
        if not _PRINTABLE_FIELD.match(f):
            raise Mismatch("field %r holds a control character" % f)
    if len(fields) < 3 or fields[0] != "VMMP":
        raise Mismatch("does not start with '<VMMP '")
    if fields[1] != VERSION_FIELD:
        raise Mismatch("version %r, not %s" % (fields[1], VERSION_FIELD))
    kind, rest = fields[2], fields[3:]
    if not rest:
        raise Mismatch("%s without a MACHINE_ID" % kind)
    machine = rest[0]
    if not _UUID.match(machine):
        raise Mismatch("MACHINE_ID %r is not a 128-bit id" % machine)
    args = rest[1:]
    if kind == "RESULTS":
        if not args or not _DECIMAL.match(args[0]):
            raise Mismatch("N_METHODS %r is not a decimal count" % (args[0] if args else None))
        count = int(args[0])
        methods = args[1:]
        if len(methods) != count:
            raise Mismatch("N_METHODS says %d but %d methods follow" % (count, len(methods)))
        for m in methods:
            if m not in KNOWN_METHODS:
                raise Mismatch("method %r is not one of %s" % (m, ", ".join(KNOWN_METHODS)))
        if len(set(methods)) != len(methods):
            raise Mismatch("a method is listed twice")
        return {"kind": kind, "machine": machine, "methods": methods}
    if kind == "RESP":
        if len(args) != 2:
            raise Mismatch("RESP has %d fields after MACHINE_ID, not 2" % len(args))
        if not _DECIMAL.match(args[0]):
            raise Mismatch("VERSION' %r is not a decimal version" % args[0])
        if args[1] not in ("SUCCESS", "FAIL"):
            raise Mismatch("RESP ends with %r, not SUCCESS or FAIL" % args[1])
        return {"kind": kind, "machine": machine, "version": int(args[0]), "success": args[1] == "SUCCESS"}
    if kind == "HEARTBEAT":
        if args:
            raise Mismatch("HEARTBEAT has extra fields")
        return {"kind": kind, "machine": machine}
    if kind in ("QUERY", "REQ"):
        raise Mismatch("a %s, which only the front-end sends" % kind)
    raise Mismatch("unknown message %r" % kind)


class LineReader:
    """Reads lines ending in LF (an optional CR before it is allowed) from a socket, strictly ASCII."""

    def __init__(self, sock):
        self._sock = sock
        self._buffer = b""

    def read_line(self):
        """Returns the next line as str, or None when the peer closed (or reset) before sending one.

        Raises Mismatch for a line that is not ASCII, too long, or cut off by the close; socket.timeout when the
        agent neither answers nor closes."""
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_ANSWER_BYTES:
                raise Mismatch("answer longer than %d bytes without a line end" % MAX_ANSWER_BYTES)
            try:
                chunk = self._sock.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                if self._buffer:
                    raise Mismatch("connection closed in the middle of a line: %r" % self._buffer[:200])
                return None
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\n", 1)
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if len(raw) > MAX_ANSWER_BYTES:
            raise Mismatch("answer longer than %d bytes" % MAX_ANSWER_BYTES)
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise Mismatch("answer is not ASCII: %r" % raw[:200])
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
            raise Mismatch("answer holds a control character: %r" % text[:200])
        return text


# ---------------------------------------------------------------------------------------------------------------
# Talking to the agent.


class Agent:
    def __init__(self, host, port, timeout, secret=None):
        self.host, self.port, self.timeout, self.secret = host, port, timeout, secret
        self.last = None  # the lines of the latest exchange, shown in a failed check

    def proven(self, line):
        """The bytes of a message line, preceded by its AUTH line when the peer holds the secret."""
        if self.secret is None:
            return (line + "\n").encode("ascii")
        digest = hmac.new(self.secret.encode("utf-8"), b"VMMP-AUTH\n" + line.encode("ascii"), hashlib.sha256).hexdigest()
        return ("AUTH %s\n%s\n" % (digest, line)).encode("ascii")

    def connect(self):
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.settimeout(self.timeout)
        return sock

    def exchange(self, payload, answers=1):
        """Sends raw bytes on a fresh connection and reads up to `answers` lines.

        Returns (lines, closed): the lines read and whether the agent closed before the last one."""
        sock = self.connect()
        try:
            try:
                sock.sendall(payload)
            except (ConnectionResetError, BrokenPipeError):
                return [], True  # the agent closed while we were still sending (an overlong line)
            reader = LineReader(sock)
            lines = self.last = []
            for _ in range(answers):
                line = reader.read_line()
                if line is None:
                    return lines, True
                lines.append(line)
            return lines, False
        finally:
            sock.close()


class Listener:
    """A TCP port the agent must not connect to (an ORIG or CENTRAL address in a REQ nobody announced)."""

    def __init__(self, address):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((address, 0))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.received = []  # (peer, first bytes) per connection
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                conn, peer = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(1.0)
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            finally:
                conn.close()
            self.received.append((peer[0], data[:300].decode("latin-1")))

    def close(self):
        self._stop = True
        self._thread.join(timeout=2)
        self._sock.close()


# ---------------------------------------------------------------------------------------------------------------
# The conversation.


class Run:
    def __init__(self, agent, expect_methods):
        self.agent = agent
        self.expect_methods = expect_methods
        self.checks = []
        self.methods = None

    def record(self, name, ok, sent, got, why=None, **extra):
        check = {"name": name, "ok": ok, "sent": _show(sent), "got": got}
        if why:
            check["why"] = why
        check.update(extra)
        self.checks.append(check)
        return ok

    def _try(self, name, sent, body):
        """Runs one check; any Mismatch or timeout becomes a failed check instead of stopping the run."""
        self.agent.last = None
        try:
            body()
        except Mismatch as e:
            self.record(name, False, sent, self.agent.last, str(e))
        except socket.timeout:
            self.record(name, False, sent, self.agent.last, "no answer and no close within %g s" % self.agent.timeout)
        except OSError as e:
            self.record(name, False, sent, self.agent.last, "connection error: %s" % e)

    # QUERY -> RESULTS naming the same machine, with the advertised methods.
    def expect_results(self, name, machine, answer):
        msg = parse_answer(answer)
        if msg["kind"] != "RESULTS":
            raise Mismatch("answered %s to a QUERY, not RESULTS" % msg["kind"])
        if msg["machine"] != machine:
            raise Mismatch("RESULTS names machine %s, the QUERY named %s" % (msg["machine"], machine))
        if self.expect_methods is not None and sorted(msg["methods"]) != sorted(self.expect_methods):
            raise Mismatch("methods %s, expected %s" % (msg["methods"], self.expect_methods))
        if self.methods is not None and msg["methods"] != self.methods:
            raise Mismatch("methods changed from %s to %s" % (self.methods, msg["methods"]))
        return msg["methods"]

    def query(self, name):
        machine = str(uuid.uuid4())
        line = "<VMMP 1.0 QUERY %s METHODS>" % machine

        def body():
            lines, closed = self.agent.exchange(self.agent.proven(line))
            if closed:
                raise Mismatch("closed the connection instead of answering a well-formed QUERY")
            methods = self.expect_results(name, machine, lines[0])
            if self.methods is None:
                self.methods = methods
            self.record(name, True, line, lines[0], outcome="results")

        self._try(name, line, body)
        return self.checks[-1]["ok"]

    def query_twice_on_one_connection(self):
        name = "query-twice-one-connection"
        machine = str(uuid.uuid4())
        line = "<VMMP 1.0 QUERY %s METHODS>" % machine

        def body():
            sock = self.agent.connect()
            try:
                reader = LineReader(sock)
                got = []
                for _ in range(2):
                    sock.sendall(self.agent.proven(line))
                    answer = reader.read_line()
                    if answer is None:
                        raise Mismatch("closed after %d answers; one line per message, several per connection" % len(got))
                    self.expect_results(name, machine, answer)
                    got.append(answer)
            finally:
                sock.close()
            self.record(name, True, line + " (twice)", got, outcome="results")

        self._try(name, line, body)

    def unannounced_reqs(self):
        """REQs that no front-end announced: answered FAIL (version unchanged) or closed; nothing is fetched."""
        local = self._local_address()
        origin, central = Listener(local), Listener(local)
        try:
            for method in (self.methods or ["SCP"]):
                machine = str(uuid.uuid4())
                version = 7
                line = "<VMMP 1.0 REQ %s %d %s %d %s %d %s>" % (machine, version, local, origin.port, local, central.port, method)
                name = "req-unannounced-" + method

                def body(line=line, machine=machine, version=version, name=name):
                    lines, closed = self.agent.exchange(self.agent.proven(line))
                    if closed:
                        self.record(name, True, line, None, outcome="closed")
                        return
                    msg = parse_answer(lines[0])
                    if msg["kind"] != "RESP":
                        raise Mismatch("answered %s to a REQ, not RESP" % msg["kind"])
                    if msg["machine"] != machine:
                        raise Mismatch("RESP names machine %s, the REQ named %s" % (msg["machine"], machine))
                    if msg["success"]:
                        raise Mismatch("SUCCESS for a migration nobody announced")
                    if msg["version"] != version:
                        # design section 6.2 step 5: a failed migration leaves the machine in its previous version
                        raise Mismatch("FAIL with VERSION' %d; the version must stay %d" % (msg["version"], version))
                    self.record(name, True, line, lines[0], outcome="fail")

                self._try(name, line, body)
            # Changes nothing: the agent must not start fetching from ORIG nor report progress to CENTRAL.
            time.sleep(1.5)
            name = "req-unannounced-changes-nothing"
            if origin.received:
                self.record(name, False, "(listening as ORIG)", origin.received, "the agent contacted the origin of an unannounced REQ")
            else:
                central_lines = [data for _, data in central.received]
                bad = [d for d in central_lines if not _only_failures(d)]
                if bad:
                    self.record(name, False, "(listening as CENTRAL)", bad, "the agent reported progress or success to the front-end")
                else:
                    self.record(name, True, "(listening as ORIG and CENTRAL)", central_lines, outcome="untouched")
        finally:
            origin.close()
            central.close()

    def refused(self, name, payload, machine=None, answers=1):
        """A line the agent must refuse: RESP FAIL (about `machine` when the line named it) or a closed connection.

        With answers=2, the first answer is to a well-formed QUERY sent ahead of the bad line on one connection."""
        def body():
            lines, closed = self.agent.exchange(payload, answers)
            got = lines[-1] if lines and not (closed and len(lines) < answers) else None
            if answers == 2:
                if not lines:
                    raise Mismatch("closed before answering the well-formed QUERY ahead of the bad line")
                self.expect_results(name, machine, lines[0])
            if got is None:
                outcome = "closed"
            else:
                msg = parse_answer(got)
                if msg["kind"] != "RESP" or msg["success"]:
                    raise Mismatch("answered %s to a malformed line, not RESP ... FAIL" % _describe(msg))
                if machine is not None and msg["machine"] != machine:
                    raise Mismatch("FAIL names machine %s, the line named %s" % (msg["machine"], machine))
                outcome = "fail"
            after = self._fresh_query()
            self.record(name, after is True, payload, lines, None if after is True else after, outcome=outcome,
                        then="results" if after is True else "broken")

        self._try(name, payload, body)

    def _fresh_query(self):
        """True when a fresh QUERY on a new connection is still answered right; otherwise what went wrong."""
        machine = str(uuid.uuid4())
        line = "<VMMP 1.0 QUERY %s METHODS>" % machine
        try:
            lines, closed = self.agent.exchange(self.agent.proven(line))
            if closed:
                return "a fresh QUERY afterwards was not answered (closed)"
            self.expect_results("fresh", machine, lines[0])
            return True
        except Mismatch as e:
            return "a fresh QUERY afterwards was answered wrongly: %s" % e
        except OSError as e:
            return "a fresh QUERY afterwards failed: %s" % e

    def malformed(self):
        # Each case names its own fresh machine ("{m}"), so that an answer can only match the line it answers.
        req = "{m} 7 127.0.0.1 7001 127.0.0.1 7000"
        cases = [
            # the version field
            ("wrong-version", "<VMMP 2.0 QUERY {m} METHODS>", True),
            ("older-version", "<VMMP 0.9 QUERY {m} METHODS>", True),
            ("non-numeric-version", "<VMMP x.y QUERY {m} METHODS>", True),
            ("version-without-minor", "<VMMP 1 QUERY {m} METHODS>", True),
            ("missing-version", "<VMMP QUERY {m} METHODS>", True),
            # fields missing or extra
            ("query-missing-methods", "<VMMP 1.0 QUERY {m}>", True),
            ("query-missing-machine", "<VMMP 1.0 QUERY METHODS>", False),
            ("query-extra-field", "<VMMP 1.0 QUERY {m} METHODS EXTRA>", True),
            ("query-not-methods", "<VMMP 1.0 QUERY {m} VERSIONS>", True),
            ("req-missing-method", "<VMMP 1.0 REQ " + req + ">", True),
            ("req-missing-central-port", "<VMMP 1.0 REQ {m} 7 127.0.0.1 7001 127.0.0.1 SCP>", True),
            ("req-extra-field", "<VMMP 1.0 REQ " + req + " SCP EXTRA>", True),
            # field types
            ("req-non-numeric-version", "<VMMP 1.0 REQ {m} x 127.0.0.1 7001 127.0.0.1 7000 SCP>", True),
            ("req-negative-version", "<VMMP 1.0 REQ {m} -1 127.0.0.1 7001 127.0.0.1 7000 SCP>", True),
            ("req-port-out-of-range", "<VMMP 1.0 REQ {m} 7 127.0.0.1 99999 127.0.0.1 7000 SCP>", True),
            ("req-non-numeric-port", "<VMMP 1.0 REQ {m} 7 127.0.0.1 http 127.0.0.1 7000 SCP>", True),
            ("req-orig-not-an-ip", "<VMMP 1.0 REQ {m} 7 not-an-ip 7001 127.0.0.1 7000 SCP>", True),
            ("req-central-not-an-ip", "<VMMP 1.0 REQ {m} 7 127.0.0.1 7001 127.0.0.999 7000 SCP>", True),
            # methods
            ("req-unknown-method", "<VMMP 1.0 REQ " + req + " FTP>", True),
            ("req-lowercase-method", "<VMMP 1.0 REQ " + req + " scp>", True),
            ("req-method-list", "<VMMP 1.0 REQ " + req + " SCP,RSYNC>", True),
            # messages this side never receives, and unknown ones
            ("unknown-message", "<VMMP 1.0 FETCH {m}>", True),
            ("results-sent-to-agent", "<VMMP 1.0 RESULTS {m} 1 SCP>", True),
            ("heartbeat-sent-to-agent", "<VMMP 1.0 HEARTBEAT {m}>", True),
            ("resp-sent-to-agent", "<VMMP 1.0 RESP {m} 8 SUCCESS>", True),
            ("lowercase-keywords", "<vmmp 1.0 query {m} methods>", True),
            # framing
            ("double-space", "<VMMP  1.0 QUERY {m} METHODS>", True),
            ("trailing-space", "<VMMP 1.0 QUERY {m} METHODS >", True),
            ("tab-separator", "<VMMP 1.0\tQUERY {m} METHODS>", True),
            ("no-brackets", "VMMP 1.0 QUERY {m} METHODS", True),
            ("no-closing-bracket", "<VMMP 1.0 QUERY {m} METHODS", True),
            ("text-after-frame", "<VMMP 1.0 QUERY {m} METHODS> hello", True),
            ("two-frames-one-line", "<VMMP 1.0 QUERY {m} METHODS><VMMP 1.0 QUERY {m} METHODS>", True),
            ("machine-not-an-id", "<VMMP 1.0 QUERY not-a-machine METHODS>", False),
            ("empty-line", "", False),
            ("garbage", "hello", False),
        ]
        for name, template, names_machine in cases:
            m = str(uuid.uuid4())
            self.refused("malformed-" + name, (template.replace("{m}", m) + "\n").encode("ascii"), m if names_machine else None)
        # bytes that are not printable ASCII
        m = str(uuid.uuid4())
        self.refused("malformed-non-ascii-utf8", ("<VMMP 1.0 QUERY %s MÉTHODS>\n" % m).encode("utf-8"), m)
        m = str(uuid.uuid4())
        self.refused("malformed-non-ascii-byte", b"<VMMP 1.0 QUERY " + m.encode("ascii") + b" METHODS\xff>\n", m)
        m = str(uuid.uuid4())
        self.refused("malformed-nul-byte", b"<VMMP 1.0 QUERY " + m.encode("ascii") + b"\x00 METHODS>\n", m)
        # overlong: a machine id of 256 KiB, and 256 KiB with no line end at all
        self.refused("malformed-overlong-line", ("<VMMP 1.0 QUERY %s METHODS>\n" % ("A" * 262144)).encode("ascii"))
        self.refused("malformed-overlong-no-line-end", b"<VMMP 1.0 QUERY " + b"A" * 262144)
        # a bad line after a good one on the same connection: the good one is answered, the bad one refused
        m = str(uuid.uuid4())
        self.refused("malformed-after-a-good-query",
                     self.agent.proven("<VMMP 1.0 QUERY %s METHODS>" % m) + ("<VMMP 2.0 QUERY %s METHODS>\n" % m).encode("ascii"), m, answers=2)

    def unproven_query(self):
        """With the secret known, a QUERY that proves nothing must not be answered with RESULTS (issue 20)."""
        m = str(uuid.uuid4())
        self.refused("unproven-query", ("<VMMP 1.0 QUERY %s METHODS>\n" % m).encode("ascii"), m)

    def _local_address(self):
        """Our address as the agent sees it, so that the ORIG and CENTRAL of a REQ are reachable from the agent."""
        sock = self.agent.connect()
        try:
            return sock.getsockname()[0]
        finally:
            sock.close()

    def run(self):
        if not self.query("query"):
            return  # no point going on: the agent does not answer the simplest message
        self.query("query-another-machine")
        self.query_twice_on_one_connection()
        self.unannounced_reqs()
        self.malformed()
        if self.agent.secret is not None:
            self.unproven_query()
        self.query("query-final")


def _only_failures(data):
    """True when what the agent sent to CENTRAL is nothing but well-formed RESP ... FAIL lines."""
    for line in data.splitlines():
        try:
            msg = parse_answer(line)
        except Mismatch:
            return False
        if msg["kind"] != "RESP" or msg["success"]:
            return False
    return True


def _describe(msg):
    if msg["kind"] == "RESP":
        return "RESP %s" % ("SUCCESS" if msg["success"] else "FAIL")
    return msg["kind"]


def _show(sent):
    """The line sent, shortened for the report (an overlong line is 256 KiB)."""
    if isinstance(sent, bytes):
        sent = sent.decode("latin-1")
    sent = sent.rstrip("\n")
    return sent if len(sent) <= 160 else "%s... (%d bytes)" % (sent[:80], len(sent))


def main(argv):
    parser = argparse.ArgumentParser(description="An independent VMMP 1.0 peer (design section 6.1) that checks an agent's answers.")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--expect-methods", help="comma-separated methods the agent must advertise (any order), e.g. SCP,RSYNC,DEDUP")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer (default 10)")
    parser.add_argument("--secret-file", help="file holding the host's secret: the peer proves its QUERYs and REQs with it")
    args = parser.parse_args(argv)
    secret = None
    if args.secret_file is not None:
        with open(args.secret_file, encoding="utf-8") as f:
            secret = f.read().strip()
    expect = None
    if args.expect_methods is not None:
        expect = [m for m in args.expect_methods.split(",") if m]

    agent = Agent(args.host, args.port, args.timeout, secret)
    try:
        agent.connect().close()
    except OSError as e:
        print(json.dumps({"ok": False, "host": args.host, "port": args.port, "error": "cannot connect: %s" % e}))
        return 2

    run = Run(agent, expect)
    run.run()
    failed = [c for c in run.checks if not c["ok"]]
    print(json.dumps({
        "ok": not failed,
        "host": args.host,
        "port": args.port,
        "methods": run.methods,
        "passed": len(run.checks) - len(failed),
        "failed": len(failed),
        "checks": run.checks,
    }, separators=(",", ":")))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
