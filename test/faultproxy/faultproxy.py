#!/usr/bin/env python3
"""A fault-injecting HTTPS proxy between the operator and kube-apiserver (test/e2e/faults_test.sh).

It terminates TLS towards the operator with its own certificate, opens TLS to the real API server
(authenticating with a client certificate; the operator's Authorization header is dropped) and
forwards plain HTTP/1.1 between them, so that it can break RESPONSES on purpose. Faults are set
at run time on a plain-HTTP control port, each scoped to a request pattern:

  curl -X POST 'http://127.0.0.1:CTRL/fault?kind=status&code=429&retry_after=2&method=PATCH&path=/configmaps/'
      -> the id of the fault
  curl http://127.0.0.1:CTRL/hits?id=ID   how many times it was injected
  curl http://127.0.0.1:CTRL/when?id=ID   the Unix time of its first injection
  curl http://127.0.0.1:CTRL/gap?id=ID    seconds from its first injection to the next request
                                          with the same method and path ("none" if none came)
  curl http://127.0.0.1:CTRL/stall?id=ID  seconds from a stalled watch's last byte until the operator
                                          closed it
  curl -X POST http://127.0.0.1:CTRL/clear   ends every fault (the queries above still answer)

Kinds (request = a normal response; event = the next event line of an open watch):
  status          request: answer `code` (with Retry-After: `retry_after` when given) and a
                  Kubernetes Status body, without asking the API server
  garbage_status  request: random bytes instead of a status line, then close
  cut_body        request: the real head (Content-Length of the whole body), half the body, close
  truncated_chunk request: the real answer re-framed as one chunk whose size is announced and
                  only half sent, then close; event: the same for one watch event
  drop            event: forward the event, then drop the connection (no last chunk)
  stall           event: forward nothing more until the operator gives up (or `seconds`)
  garbage_event   event: a line of garbage in place of the event (framed correctly)

Scope parameters: method (e.g. PATCH), path (a substring of the path), watch (only|no|any;
default only for event kinds, no for request kinds), times (default 1), every (every Nth match,
default 1). Every request is logged to --log as one line:
  <unix time> <method> <path> <watch|req> <status or -> <fault id or -> <fault kind or ->
"""
import argparse
import asyncio
import json
import os
import ssl
import time
import urllib.parse

EVENT_KINDS = {"drop", "stall", "garbage_event", "truncated_chunk"}
REQUEST_KINDS = {"status", "garbage_status", "cut_body", "truncated_chunk"}
REASONS = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
PHRASES = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
           504: "Gateway Timeout"}


class Fault:
    def __init__(self, fid, params):
        self.id = fid
        self.kind = params.get("kind", "")
        if self.kind not in EVENT_KINDS | REQUEST_KINDS:
            raise ValueError("unknown kind " + repr(self.kind))
        self.method = params.get("method", "")
        self.path = params.get("path", "")
        default_watch = "only" if self.kind in EVENT_KINDS - REQUEST_KINDS else "no"
        self.watch = params.get("watch", default_watch)
        self.times = int(params.get("times", "1"))
        self.every = max(1, int(params.get("every", "1")))
        self.code = int(params.get("code", "500"))
        self.retry_after = params.get("retry_after", "")
        self.seconds = float(params.get("seconds", "3600"))
        self.seen = 0
        self.hits = []  # (time, method, path)
        self.stalled_for = None

    def matches(self, method, path, is_watch, level):
        if level == "event" and self.kind not in EVENT_KINDS:
            return False
        if level == "request" and self.kind not in REQUEST_KINDS:
            return False
        if level == "request" and is_watch and self.kind not in ("status", "garbage_status"):
            return False
        if self.watch == "only" and not is_watch or self.watch == "no" and is_watch:
            return False
        if self.method and self.method != method:
            return False
        return self.path in path

    def take(self, method, path):
        if len(self.hits) >= self.times:
            return False
        self.seen += 1
        if self.seen % self.every:
            return False
        self.hits.append((time.time(), method, path))
        return True


class Proxy:
    def __init__(self, args):
        self.args = args
        self.faults = []  # active, in the order they were set
        self.by_id = {}  # every fault ever set, for the queries
        self.next_id = 1
        self.requests = []  # (time, method, path)
        self.log = open(args.log, "a", buffering=1) if args.log else None
        self.upstream_ssl = ssl.create_default_context(cafile=args.upstream_ca)
        self.upstream_ssl.check_hostname = False
        self.upstream_ssl.load_cert_chain(args.client_cert, args.client_key)
        url = urllib.parse.urlsplit(args.upstream)
        self.upstream_host, self.upstream_port = url.hostname, url.port or 443

    def pick(self, method, path, is_watch, level):
        for f in self.faults:
            if f.matches(method, path, is_watch, level) and f.take(method, path):
                return f
        return None

    def record(self, method, path, is_watch, status, fault):
        now = fault.hits[-1][0] if fault else time.time()  # /gap looks at what came after
        self.requests.append((now, method, path))
        if self.log:
            self.log.write("%.3f %s %s %s %s %s %s\n" % (
                now, method, path, "watch" if is_watch else "req", status or "-",
                fault.id if fault else "-", fault.kind if fault else "-"))

    # ---- the proxied connections -------------------------------------------------------------

    async def client(self, reader, writer):
        up = None
        try:
            while True:
                head = await read_head(reader)
                if head is None:
                    return
                method, target, fields = parse_request(head)
                body = await reader.readexactly(int(field(fields, "content-length") or 0))
                path = target.split("?", 1)[0]
                query = urllib.parse.parse_qs(target.partition("?")[2])
                is_watch = query.get("watch", [""])[0] in ("1", "true")
                fault = self.pick(method, path, is_watch, "request")
                if fault and fault.kind == "status":
                    self.record(method, path, is_watch, fault.code, fault)
                    writer.write(status_response(fault))
                    await writer.drain()
                    continue
                if fault and fault.kind == "garbage_status":
                    self.record(method, path, is_watch, None, fault)
                    writer.write(os.urandom(64).replace(b"\n", b"?") + b"\r\n\r\n")
                    await writer.drain()
                    return
                if up is None:
                    up = await asyncio.open_connection(self.upstream_host, self.upstream_port,
                                                       ssl=self.upstream_ssl)
                up[1].write(forward_request(head, body))
                await up[1].drain()
                rhead = await read_head(up[0])
                if rhead is None:
                    raise ConnectionError("the API server closed the connection")
                status, rfields = parse_response(rhead)
                if is_watch and status == 200:
                    self.record(method, path, is_watch, status, fault)
                    await self.stream_watch(method, path, rhead, up[0], reader, writer)
                    return
                rbody, reusable = await read_body(up[0], method, status, rfields)
                if not reusable:
                    close(up[1])
                    up = None
                self.record(method, path, is_watch, status, fault)
                out = strip_framing(rhead)
                if fault and fault.kind == "cut_body":
                    writer.write(out + b"Content-Length: %d\r\n\r\n" % len(rbody) + rbody[:len(rbody) // 2])
                    await writer.drain()
                    writer.transport.abort()
                    return
                if fault and fault.kind == "truncated_chunk":
                    writer.write(out + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % len(rbody) +
                                 rbody[:len(rbody) // 2])
                    await writer.drain()
                    writer.transport.abort()
                    return
                writer.write(out + b"Content-Length: %d\r\n\r\n" % len(rbody) + rbody)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError, ValueError):
            pass
        finally:
            if up:
                close(up[1])
            close(writer)

    async def stream_watch(self, method, path, rhead, ureader, reader, writer):
        """Forwards a chunked watch response one event line per chunk, faults applied per event."""
        writer.write(rhead)
        await writer.drain()
        last_byte = time.time()  # a stall is measured from here: the operator's idle timeout
        if (field(parse_response(rhead)[1], "transfer-encoding") or "").lower() != "chunked":
            while data := await ureader.read(65536):
                writer.write(data)
                await writer.drain()
            return
        pending = b""
        while True:
            size = int((await ureader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await ureader.readexactly(size + 2)
            if size == 0:
                writer.write(b"0\r\n\r\n")
                await writer.drain()
                return
            pending += data[:-2]
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                line += b"\n"
                fault = self.pick(method, path, True, "event")
                if fault:
                    self.record(method, path, True, None, fault)
                if fault is None or fault.kind == "drop":
                    writer.write(b"%x\r\n%s\r\n" % (len(line), line))
                    await writer.drain()
                    last_byte = time.time()
                    if fault:
                        writer.transport.abort()
                        return
                elif fault.kind == "truncated_chunk":
                    writer.write(b"%x\r\n%s" % (len(line), line[:len(line) // 2]))
                    await writer.drain()
                    writer.transport.abort()
                    return
                elif fault.kind == "garbage_event":
                    junk = b'{"type":"MODIFIED","object":{"kind":' + os.urandom(24).replace(b"\n", b"?") + b"\n"
                    writer.write(b"%x\r\n%s\r\n" % (len(junk), junk))
                    await writer.drain()
                elif fault.kind == "stall":
                    try:
                        await asyncio.wait_for(reader.read(1), fault.seconds)
                    except asyncio.TimeoutError:
                        pass
                    fault.stalled_for = time.time() - last_byte
                    writer.transport.abort()
                    return

    # ---- the control port ----------------------------------------------------------------------

    async def control(self, reader, writer):
        try:
            head = await read_head(reader)
            if head is None:
                return
            method, target, _ = parse_request(head)
            url = urllib.parse.urlsplit(target)
            params = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
            code, text = 200, ""
            try:
                text = self.command(method, url.path, params)
            except (ValueError, KeyError) as e:
                code, text = 400, str(e)
            writer.write(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (
                code, len(text.encode()) + 1, text.encode() + b"\n"))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            close(writer)

    def command(self, method, path, params):
        if method == "POST" and path == "/fault":
            f = Fault(self.next_id, params)
            self.next_id += 1
            self.faults.append(f)
            self.by_id[f.id] = f
            return str(f.id)
        if path == "/clear":
            self.faults.clear()
            return "ok"
        if path == "/faults":
            return json.dumps([{"id": f.id, "kind": f.kind, "hits": len(f.hits)} for f in self.faults])
        f = self.by_id[int(params["id"])]
        if path == "/hits":
            return str(len(f.hits))
        if path == "/when":
            return "%.3f" % f.hits[0][0] if f.hits else "none"
        if path == "/gap":
            if not f.hits:
                return "none"
            t, m, p = f.hits[0]
            later = [r[0] for r in self.requests if r[0] > t and r[1] == m and r[2] == p]
            return "%.3f" % (later[0] - t) if later else "none"
        if path == "/stall":
            return "none" if f.stalled_for is None else "%.3f" % f.stalled_for
        raise KeyError(path)


def close(writer):
    try:
        writer.close()
    except (OSError, RuntimeError):
        pass


async def read_head(reader):
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial:
            raise
        return None


def parse_fields(lines):
    fields = []
    for line in lines:
        name, _, value = line.partition(b":")
        fields.append((name.strip().decode("latin-1").lower(), value.strip().decode("latin-1")))
    return fields


def field(fields, name):
    for n, v in fields:
        if n == name:
            return v
    return None


def parse_request(head):
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    method, target, _ = lines[0].decode("latin-1").split(" ", 2)
    return method, target, parse_fields(lines[1:])


def parse_response(head):
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    return int(lines[0].split(b" ")[1]), parse_fields(lines[1:])


def forward_request(head, body):
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    kept = [l for l in lines if not l.lower().startswith(b"authorization:")]
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def strip_framing(head):
    """The response head without its framing fields and the blank line."""
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    drop = (b"content-length:", b"transfer-encoding:", b"connection:")
    return b"\r\n".join(l for l in lines if not l.lower().startswith(drop)) + b"\r\n"


async def read_body(reader, method, status, fields):
    """The decoded body, and whether the connection can carry another request."""
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return b"", True
    reusable = (field(fields, "connection") or "").lower() != "close"
    if (field(fields, "transfer-encoding") or "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return body, reusable
            body += (await reader.readexactly(size + 2))[:-2]
    length = field(fields, "content-length")
    if length is not None:
        return await reader.readexactly(int(length)), reusable
    return await reader.read(), False


def status_response(fault):
    code = fault.code
    reason = REASONS.get(code, "InternalError")
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": "injected by faultproxy (fault %d)" % fault.id, "reason": reason, "code": code}
    if fault.retry_after:
        status["details"] = {"retryAfterSeconds": int(fault.retry_after)}
    body = json.dumps(status).encode()
    head = "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (
        code, PHRASES.get(code, "Error"), len(body))
    if fault.retry_after:
        head += "Retry-After: %s\r\n" % fault.retry_after
    return head.encode() + b"\r\n" + body


async def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", type=int, required=True, help="the TLS port for the operator")
    p.add_argument("--control", type=int, required=True, help="the plain-HTTP control port")
    p.add_argument("--cert", required=True, help="the proxy's certificate (PEM)")
    p.add_argument("--key", required=True, help="the proxy's key (PEM)")
    p.add_argument("--upstream", required=True, help="https://host:port of kube-apiserver")
    p.add_argument("--upstream-ca", required=True)
    p.add_argument("--client-cert", required=True)
    p.add_argument("--client-key", required=True)
    p.add_argument("--log", help="append one line per request here")
    args = p.parse_args()
    proxy = Proxy(args)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.cert, args.key)
    server = await asyncio.start_server(proxy.client, "127.0.0.1", args.listen, ssl=tls)
    control = await asyncio.start_server(proxy.control, "127.0.0.1", args.control)
    async with server, control:
        await asyncio.gather(server.serve_forever(), control.serve_forever())


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
