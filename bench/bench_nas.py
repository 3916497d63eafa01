"""The billing's RADIUS server (plugin_nas_oss, `abonent nas radius`) next to FreeRADIUS
answering the same load on the same machine: Access-Request and Accounting-Request per
second on loopback; the issue's goal is a ratio of at least 0.3.

The load generator is the same for both servers: one process sending requests prepared
beforehand (PAP Access-Requests with Message-Authenticator for `ACCOUNTS` logins,
Accounting Start / Interim / Stop of as many sessions), keeping `WINDOW` requests in
flight on one UDP socket and counting the answers; what is timed is from the first
request sent to the last answer received. Both servers run at once and take turns for
`PASSES` passes (who goes first alternating; each pass its own accounting sessions); a
server's figure is its best pass. Measured once each, one after the other, the ratio
swung 0.15-1.8 between runs of the same code on the shared machine: a burst of other
work falling on one server's only pass decided it. Each server's CPU per request (its
process, all threads, read from /proc around each pass; the least of its passes) is
printed too: it moves far less with the machine's load than the rates do.

Our server runs in its own process on a fresh PostgreSQL database (core and the
plugin's branch) with one NAS agent and `ACCOUNTS` accounts. FreeRADIUS is Debian's
`freeradius` with its default configuration copied to a temporary folder: the clients
file names the load generator, the files module has the same logins, and the default
virtual server listens on two free loopback ports (its IPv6 listeners and the
inner-tunnel are left out); it writes the accounting detail files as configured. When the
freeradius binary is missing, the figures of our server are printed alone and the
missing peer is said; `scripts/ensure-freeradius.sh` installs it first where it can
(as root, with apt).

CoA commands delivered per second: the same accounts, each with a session on an emulated
NAS (`plugin_nas_oss.emulator`, in its own process), blocked and then unblocked by a
manager; the events' deliveries are then worked off by one worker process as `abonent
worker` runs them (`Outbox.run_forever`, the plugin's lane `CONCURRENCY` wide). The whole
path is timed — the delivery claimed, the account's facts read, user_drop + b_admin (then
u_b_admin + user_accept) sent with pyrad, acknowledged by the emulator, written to the
command log — from the first command logged to the last (the worker's start-up is left
out); the goal is 1,000/s. Next to it, the raw CoA round trips: the same requests sent by
`CONCURRENCY` threads straight to the emulator with `plugin_nas_oss.coa.send`, nothing
read or written.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pyrad import packet as rp
from sqlalchemy import select

from bench.common import Figure, fresh_database, in_child, timed
from core import create_account, create_contract, create_subscriber, migrate
from core.config import validate_settings
from core.db import make_engine
from core.migrate import Branches
from plugins.testing import Factory

ACCOUNTS = 1_000
REQUESTS = 20_000  # of each kind, at scale 1
WINDOW = 64
PASSES = 3
SECRET = "bench-radius-secret"
COA_SECRET = "bench-coa-secret"
CONCURRENCY = 32  # [plugins.nas_oss] concurrency of the worker, threads of the raw CoA
FREERADIUS_ETC = Path("/etc/freeradius/3.0")
ENSURE_FREERADIUS = Path(__file__).parents[1] / "scripts" / "ensure-freeradius.sh"


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


# --- our server, in its own process ----------------------------------------------------------

def _ip(n: int) -> str:
    return f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"


def _runtime(url: str):
    """The plugin's runtime, its delivery lane CONCURRENCY wide (the setup's, the worker's,
    our RADIUS server's)."""
    from plugin_nas_oss import plugin
    from plugins.host import build_runtime
    settings = validate_settings({"database_url": url,
                                  "plugins": {"nas_oss": {"concurrency": CONCURRENCY}},
                                  "outbox": {"batch_size": 200, "poll_interval": 0.01}}, "bench")
    return build_runtime(settings, extra_plugins=[("nas_oss", plugin)], load_entrypoints=False)


def _populate(url: str, coa_port: int) -> None:
    from plugin_nas_oss import plugin
    engine = make_engine(url)
    migrate.upgrade(engine, branches=Branches(
        enabled={"nas_oss": Path(plugin.__file__).parent / "migrations"}))
    engine.dispose()
    runtime = _runtime(url)
    factory = Factory(runtime)  # the test kit's: valid rows through the service layer
    factory.operator()
    agent = factory.agent(type="nas", name="NAS bench", address="127.0.0.1",
                          coa_port=coa_port, coa_secret=COA_SECRET, radius_secret=SECRET)
    tariff = factory.tariff(name="Internet")
    for start in range(0, ACCOUNTS, 50):
        with runtime.session(actor="bench") as s:
            for n in range(start, min(start + 50, ACCOUNTS)):
                contract = create_contract(s, create_subscriber(s, name=f"Bench {n}").id)
                create_account(s, contract.id, login=f"user{n}", agent_id=agent.id,
                               tariff_id=tariff.id,
                               fields={"radius_password": f"pw{n}", "ip": _ip(n)})
    runtime.engine.dispose()


def serve(url: str, auth_port: int, acct_port: int) -> None:
    """The child process: our RADIUS server until its standard input closes."""
    from plugin_nas_oss.radius_server_cli import start
    server = start(_runtime(url), "127.0.0.1", auth_port, acct_port)
    print("READY", flush=True)
    sys.stdin.read()
    server.stop()
    print("COUNTERS", dict(server.counters), flush=True)


def _child(code: str) -> tuple[subprocess.Popen, list[str]]:
    """A Python child running `code`, once it printed READY (and the words after it); it
    ends when its standard input is closed."""
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    words = process.stdout.readline().split()
    if words[:1] != ["READY"]:
        raise RuntimeError(f"{code!r} did not start")
    return process, words[1:]


def _start_ours(url: str) -> tuple[subprocess.Popen, int, int]:
    auth, acct = _free_ports(2)
    process, _ = _child(f"from bench.bench_nas import serve; serve({url!r}, {auth}, {acct})")
    return process, auth, acct


def _end(process: subprocess.Popen) -> None:
    process.stdin.close()
    process.wait(30)


# --- FreeRADIUS, a throwaway instance -----------------------------------------------------

def _listen_on(site: str, auth: int, acct: int) -> str:
    """The default virtual server with its IPv4 listeners on our ports and no IPv6 ones."""
    def listener(match: re.Match) -> str:
        block = match.group(0)
        if re.search(r"^\s*ipv6addr\s*=", block, re.M):
            return ""
        port = auth if re.search(r"^\s*type = auth\s*$", block, re.M) else acct
        block = re.sub(r"^(\s*)ipaddr = \*", r"\1ipaddr = 127.0.0.1", block, flags=re.M)
        return re.sub(r"^(\s*)port = 0", rf"\1port = {port}", block, count=1, flags=re.M)
    return re.sub(r"^listen \{.*?^\}", listener, site, flags=re.M | re.S)


def _start_freeradius(folder: Path) -> tuple[subprocess.Popen, int, int]:
    auth, acct = _free_ports(2)
    raddb = folder / "raddb"
    shutil.copytree(FREERADIUS_ETC, raddb, symlinks=True)
    (raddb / "clients.conf").write_text(
        f"client bench {{\n\tipaddr = 127.0.0.1\n\tsecret = {SECRET}\n}}\n")
    users = raddb / "mods-config" / "files" / "authorize"
    users.write_text("".join(f'user{n} Cleartext-Password := "pw{n}"\n' for n in range(ACCOUNTS))
                     + "\n" + users.read_text())
    site = raddb / "sites-available" / "default"
    site.write_text(_listen_on(site.read_text(), auth, acct))
    (raddb / "sites-enabled" / "inner-tunnel").unlink(missing_ok=True)
    for path in [folder, *folder.rglob("*")]:  # it drops root for the freerad user
        path.chmod(path.stat().st_mode | 0o005 | (0o050 if path.is_dir() else 0o040))
    log = open(folder / "radiusd.log", "w")
    process = subprocess.Popen(["freeradius", "-f", "-d", str(raddb), "-l", "stdout"],
                               stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while "Ready to process requests" not in (folder / "radiusd.log").read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("FreeRADIUS did not start:\n"
                               + (folder / "radiusd.log").read_text()[-2000:])
        time.sleep(0.1)
    return process, auth, acct


# --- the load -------------------------------------------------------------------------------

def _requests(count: int) -> tuple[list[bytes], list[list[bytes]]]:
    """`count` Access-Requests, and `count` Accounting-Requests for each pass and one more
    set to warm up with (sessions of their own), encoded once; ids cycle through 0..255
    (with WINDOW in flight, never two alike at once)."""
    from plugin_nas_oss.dictionary import load
    dictionary, secret = load(), SECRET.encode()
    access, accounting = [], [[] for _ in range(PASSES + 1)]
    for i in range(count):
        n = i % ACCOUNTS
        pkt = rp.AuthPacket(id=i % 256, secret=secret, dict=dictionary, User_Name=f"user{n}")
        pkt["User-Password"] = pkt.PwCrypt(f"pw{n}")
        pkt.add_message_authenticator()
        access.append(pkt.RequestPacket())
        status = ("Start", "Interim-Update", "Stop")[i % 3]
        for each, requests in enumerate(accounting):
            requests.append(rp.AcctPacket(
                id=i % 256, secret=secret, dict=dictionary, User_Name=f"user{n}",
                Acct_Session_Id=f"p{each}s{i // 3:08d}", Acct_Status_Type=status,
                Framed_IP_Address=_ip(n), Acct_Input_Octets=i * 1000,
                Acct_Output_Octets=i * 3000).RequestPacket())
    return access, accounting


def load(port: int, requests: list[bytes], timeout: float = 2.0) -> tuple[int, float]:
    """Send `requests` keeping WINDOW in flight; (answers, seconds). A lost answer ends
    the run after `timeout`: the time is taken up to the last answer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(timeout)
    sent = answered = 0
    started = last = time.perf_counter()
    while sent < min(WINDOW, len(requests)):
        sock.send(requests[sent])
        sent += 1
    while answered < sent:
        try:
            sock.recv(4096)
        except socket.timeout:
            break
        answered += 1
        last = time.perf_counter()
        if sent < len(requests):
            sock.send(requests[sent])
            sent += 1
    sock.close()
    return answered, max(last - started, 1e-9)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of process `pid` (all its threads) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(servers: dict[str, tuple[int, int, int]], access: list[bytes],
             accountings: list[list[bytes]]) -> dict[str, dict[str, float]]:
    """Requests per second of each server (name -> its auth and accounting ports and its
    process id), the best of its passes, and its CPU per request ("<kind> cpu", µs, the
    least of its passes: unlike the rate it hardly moves with what else the machine
    runs); the servers take turns, which goes first alternating. The last accounting set
    warms up (connections, prepared statements, caches) with a fifth."""
    *passes, warm_up = accountings
    for auth, acct, _ in servers.values():
        load(auth, access[:len(access) // 5])
        load(acct, warm_up[:len(warm_up) // 5])
    best = {name: {"access": 0.0, "accounting": 0.0, "access cpu": float("inf"),
                   "accounting cpu": float("inf")} for name in servers}
    for n, accounting in enumerate(passes):
        for name in list(servers)[::-1 if n % 2 else 1]:
            auth, acct, pid = servers[name]
            for kind, port, requests in (("access", auth, access),
                                         ("accounting", acct, accounting)):
                cpu = _cpu_seconds(pid)
                answers, seconds = load(port, requests)
                cpu = (_cpu_seconds(pid) - cpu) / len(requests) * 1e6
                print(f"    {name}, pass {n + 1}: {kind} {answers}/{len(requests)} answered, "
                      f"{answers / seconds:,.0f}/s, server CPU {cpu:.0f} µs a request",
                      flush=True)
                best[name][kind] = max(best[name][kind], answers / seconds)
                best[name][f"{kind} cpu"] = min(best[name][f"{kind} cpu"], cpu)
    return best


# --- CoA commands delivered through the outbox ---------------------------------------------

def emulated_nas() -> None:
    """The child process: an emulated NAS with a session per bench account, until its
    standard input closes."""
    from plugin_nas_oss.emulator import NasEmulator
    with NasEmulator(COA_SECRET) as emulator:
        for n in range(ACCOUNTS):
            emulator.state.open_session(f"user{n}", _ip(n))
        print("READY", emulator.port, flush=True)
        sys.stdin.read()


def _block_and_unblock(url: str) -> int:
    """Every account blocked by a manager, then unblocked: two deliveries per contract,
    four commands; the creation's deliveries are marked done first (not measured)."""
    from core import lift_block, set_block
    from core.models import Account
    runtime = _runtime(url)
    with runtime.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE delivery SET state = 'done'")
    with runtime.session(actor="bench") as s:
        ids = list(s.scalars(select(Account.id)))
    for action in (set_block, lift_block):
        for start in range(0, len(ids), 50):  # short sessions: a flush looks at all of one
            with runtime.session(actor="bench") as s:
                for account_id in ids[start:start + 50]:
                    action(s, account_id, "admin")
    with runtime.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE delivery")
    runtime.engine.dispose()
    return 4 * len(ids)


def _pending(runtime) -> bool:
    with runtime.engine.connect() as connection:
        return connection.exec_driver_sql(
            "SELECT 1 FROM delivery WHERE state = 'pending' LIMIT 1").first() is not None


def worker_in_child(url: str) -> dict:
    """One worker process, as `abonent worker` runs the outbox, until nothing is pending."""
    from plugins.outbox import Outbox
    runtime = _runtime(url)
    stop = threading.Event()

    def watch() -> None:
        while _pending(runtime):
            time.sleep(0.25)
        stop.set()
    threading.Thread(target=watch, daemon=True).start()
    outbox = Outbox(runtime, "bench-nas")
    started = time.process_time()
    outbox.run_forever(stop)
    return {"cpu": time.process_time() - started}


def delivered_per_second(url: str, commands: int) -> tuple[float, float]:
    """(commands delivered per second, the worker's CPU milliseconds per command)."""
    cpu = in_child("bench.bench_nas:worker_in_child", url=url)["cpu"]
    engine = make_engine(url)
    with engine.connect() as connection:
        acked, first, last = connection.exec_driver_sql(
            "SELECT count(*), min(at), max(at) FROM nas_command WHERE outcome = 'ack'").one()
    engine.dispose()
    if acked != commands:
        raise RuntimeError(f"{acked} of {commands} commands acknowledged")
    return acked / (last - first).total_seconds(), cpu * 1000 / acked


def raw_round_trips(port: int, count: int) -> float:
    """CoA round trips per second to the emulator from CONCURRENCY threads, nothing else."""
    from plugin_nas_oss import coa

    def calls(numbers: range) -> None:
        for n in numbers:
            coa.send("coa", "127.0.0.1", port, COA_SECRET, [
                ("Framed-IP-Address", _ip(n % ACCOUNTS)), ("User-Name", f"user{n % ACCOUNTS}"),
                ("Mikrotik-Address-List", "blocked_admin")], timeout=2, retries=0)
    threads = [threading.Thread(target=calls, args=(range(n, count, CONCURRENCY),))
               for n in range(CONCURRENCY)]
    with timed() as took:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return count / took["seconds"]


def run(scale: float) -> list[Figure]:
    count = max(300, int(REQUESTS * scale))
    url = fresh_database("nas")
    nas, (coa_port,) = _child("from bench.bench_nas import emulated_nas; emulated_nas()")
    try:
        _populate(url, int(coa_port))
        commands = _block_and_unblock(url)
        delivered, cpu = delivered_per_second(url, commands)
        raw = raw_round_trips(int(coa_port), commands)
    finally:
        _end(nas)
    figures = [Figure(f"CoA commands delivered through the outbox ({commands:,}, 1 worker, "
                      f"lane of {CONCURRENCY})", delivered, "commands/s", "≥ 1,000/s", raw,
                      f"CoA round trips, {CONCURRENCY} threads"),
               Figure("worker CPU per command delivered", cpu, "ms", "—",
                      higher_is_better=False)]
    return figures + radius_figures(url, count)


def radius_figures(url: str, count: int) -> list[Figure]:
    """Access and Accounting per second of our server on `url`'s billing next to
    FreeRADIUS, `count` requests of each kind a pass."""
    access, accountings = _requests(count)
    process, auth, acct = _start_ours(url)
    try:
        servers = {"ours": (auth, acct, process.pid)}
        peer_name = "FreeRADIUS"
        if subprocess.run([str(ENSURE_FREERADIUS)]).returncode != 0:
            peer_name = "FreeRADIUS missing (apt-get install freeradius)"
            rates = _measure(servers, access, accountings)
        else:
            with tempfile.TemporaryDirectory(prefix="bench-freeradius-") as folder:
                os.chmod(folder, 0o755)
                server, *ports = _start_freeradius(Path(folder))
                try:
                    rates = _measure({**servers, peer_name: (*ports, server.pid)}, access,
                                     accountings)
                finally:
                    server.terminate()
                    server.wait(10)
    finally:
        _end(process)
    ours, peer = rates["ours"], rates.get(peer_name, {})
    return [Figure(f"RADIUS {kind} ({count:,} requests, {WINDOW} in flight, "
                   f"best of {PASSES} passes)", ours[kind], "requests/s",
                   "≥ 0.3 × FreeRADIUS", peer.get(kind), peer_name)
            for kind in ("access", "accounting")] + [
        Figure(f"RADIUS server CPU per {kind} request (the least of {PASSES} passes)",
               ours[f"{kind} cpu"], "µs", "—", peer.get(f"{kind} cpu"), peer_name,
               higher_is_better=False)
        for kind in ("access", "accounting")]
